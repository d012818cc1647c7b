"""What a database error carries into the hub's log and its error records: never the values sent with it."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy.exc import IntegrityError

from hub.core import Hub
from hub.db import schema
from hub.models import now_utc


async def test_a_database_error_does_not_carry_the_values_of_its_statement(hub: Hub):
    """A failed write of a secret (a VAPID key, a webhook source's secret, a Slack webhook URL) reaches the log
    through `log.exception` and the outbox's attempt records through `str(exc)`: neither may hold the secret."""
    secret = "whsec_" + secrets.token_hex(16)
    row = {"name": "probe", "value": "first", "created_at": now_utc()}
    async with hub.db.writer.begin() as conn:
        await conn.execute(schema.hub_secrets.insert().values(**row))
    with pytest.raises(IntegrityError) as failed:
        async with hub.db.writer.begin() as conn:
            await conn.execute(schema.hub_secrets.insert().values(**{**row, "value": secret}))
    assert "hub_secrets" in str(failed.value)  # still says which statement failed
    assert secret not in str(failed.value)
