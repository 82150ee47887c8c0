"""Personal data in logs and notifications: resident ID numbers lose their birth date."""

from __future__ import annotations

import json
import logging

from huiju import jsonlog
from huiju.jsonlog import mask_personal
from huiju.notify import send

ID18 = "62010219850315108X"
ID15 = "620102850315108"


def test_id_numbers_in_text_are_masked_and_other_numbers_kept():
    text = f"row 6: 证件号码 {ID18} and {ID15}; 案件编号 CF202400012; amount 12345678"
    masked = mask_personal(text)
    assert ID18 not in masked and ID15 not in masked
    assert "620102********108X" in masked and "620102******108" in masked
    assert "CF202400012" in masked and "12345678" in masked


def test_a_huiju_log_record_carries_no_id_number(caplog):
    jsonlog._annotate_huiju_records()
    with caplog.at_level(logging.INFO, logger="huiju.pipeline"):
        logging.getLogger("huiju.pipeline").warning("bad value %s in row %d", ID18, 6)
    assert ID18 not in caplog.text
    assert "620102********108X" in caplog.text


def test_notifications_are_masked(tmp_path):
    target = tmp_path / "notify.jsonl"
    send({"event": "task_failed", "error": f"row 6: {ID18} is not valid"}, f"file:{target}")
    sent = json.loads(target.read_text(encoding="utf-8"))
    assert ID18 not in sent["error"] and "620102********108X" in sent["error"]
