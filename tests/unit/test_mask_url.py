"""``connectors.base.mask_url``: the one way a URL is shown."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from connectors.base import mask_url


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://huiju:s3cret@db/huiju", "postgresql://huiju:***@db/huiju"),
    ("mysql+pymysql://root:p@ss@db:3306/x", "mysql+pymysql://root:***@db:3306/x"),
    ("postgresql://db/huiju?password=s3cret&sslmode=require",
     "postgresql://db/huiju?password=***&sslmode=require"),
    ("https://api.example/x?a=1&token=abc&Api_Key=k", "https://api.example/x?a=1&token=***&Api_Key=***"),
    ("postgresql://huiju@db/huiju", "postgresql://huiju@db/huiju"),
    ("sqlite:////srv/var/warehouse/huiju.db", "sqlite:////srv/var/warehouse/huiju.db"),
])
def test_passwords_and_tokens_are_masked(url, shown):
    assert mask_url(url) == shown


def test_a_sqlalchemy_url_is_masked_not_hidden_by_its_own_rendering():
    url = sa.make_url("postgresql+psycopg://huiju:s3cret@db:5432/huiju")
    assert mask_url(url) == "postgresql+psycopg://huiju:***@db:5432/huiju"
