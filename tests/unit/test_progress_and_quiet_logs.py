"""``huiju run``'s progress when piped, and Great Expectations kept out of the logs (issue 11)."""

from __future__ import annotations

import io
import subprocess
import sys

from huiju.progress import FeedProgress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_piped_progress_is_a_plain_line_per_step_and_at_most_one_per_interval():
    out, clock = io.StringIO(), Clock()
    with FeedProgress(out, interval=10, clock=clock) as progress:
        progress.feed("GS-SCJG case_db → penalty")
        progress.step("extract", 0)
        for _ in range(30):  # 30 batches of 1000 rows over 15 s
            clock.now += 0.5
            progress.read(1000)
        progress.step("load", 0)
        progress.done("loaded batch 2026120100001")
    lines = out.getvalue().splitlines()
    assert all(line.startswith("progress GS-SCJG case_db → penalty: ") for line in lines)
    reading = [line for line in lines if "extract;" in line and "; 0 rows read" not in line]
    assert len(reading) == 1  # 15 s of reading, one line per 10 s
    assert "20,000 rows read in 20 batches, 2,000 rows/s" in reading[0]
    assert "30,000 rows read in 30 batches" in lines[-1] and "loaded batch" in lines[-1]
    assert "\r" not in out.getvalue()  # no redraws in a log


def test_great_expectations_registration_noise_is_silenced():
    script = ("import logging, sys\n"
              "logging.basicConfig(level=logging.INFO, stream=sys.stdout, "
              "format='%(name)s %(message)s')\n"
              "from expectations.validate import validate_frame\n"
              "from expectations.testing.samples import sample_frame\n"
              "from schemas.catalog import dataset\n"
              "validate_frame(sample_frame(dataset('penalty'), 3), dataset('penalty'))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, check=True)
    assert "great_expectations" not in done.stdout + done.stderr
