"""Cursor pagination by (updated_at, id): stable while rows are written between pages."""

from __future__ import annotations

import base64
import json
from datetime import datetime

from crm_shared.errors import InvalidValue


def encode_cursor(updated_at: datetime, row_id: str) -> str:
    raw = json.dumps([updated_at.isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        updated_at, row_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(updated_at), str(row_id)
    except (ValueError, TypeError):
        raise InvalidValue("cursor", "not a cursor this API gave out") from None
