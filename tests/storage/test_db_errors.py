"""A database error stored as a run's reason never carries the values of the failed statement."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert
from sqlalchemy.exc import IntegrityError

from crawlers.redact import error_reason
from storage.db import make_engine


def test_an_error_message_does_not_echo_the_statements_parameters(db_url: str) -> None:
    engine = make_engine(db_url)
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("v", String(64), unique=True))
    table.metadata.create_all(engine)
    value = "kim.minsu@naver.com 010-2345-6789"
    with engine.begin() as connection:
        connection.execute(insert(table).values(id=1, v=value))
    with pytest.raises(IntegrityError) as raised, engine.begin() as connection:
        connection.execute(insert(table).values(id=2, v=value))
    reason = error_reason(raised.value)
    assert "IntegrityError" in reason or "UniqueViolation" in reason
    assert "kim.minsu" not in reason
    assert "2345" not in reason
    engine.dispose()
