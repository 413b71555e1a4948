"""Hypothesis strategies for CloudEvents envelopes with every attribute varied."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from crm_shared.events import EVENT_TYPE, EventEnvelope, dataschema_for

text = st.text(min_size=1, max_size=30)
"""Any non-empty Unicode text (Hypothesis leaves out lone surrogates, which UTF-8 cannot hold)."""

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=12), json_values, max_size=6)

event_types = st.from_regex(EVENT_TYPE, fullmatch=True)
uri_references = st.from_regex(r"\A/[a-z0-9/._~-]{0,30}\Z")
times = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
    ),
)
traceparents = st.builds(
    lambda trace, span, flags: f"00-{trace:032x}-{span:016x}-{flags:02x}",
    st.integers(1, 2**128 - 1),
    st.integers(1, 2**64 - 1),
    st.integers(0, 255),
)


@st.composite
def envelopes(draw: st.DrawFn) -> EventEnvelope:
    event_type = draw(event_types)
    values: dict[str, Any] = {
        "id": str(draw(st.uuids())),
        "source": draw(uri_references),
        "type": event_type,
        "time": draw(times),
        "subject": draw(st.none() | text),
        "dataschema": dataschema_for(event_type, draw(st.integers(1, 1000))),
        "data": draw(json_objects),
        "tenantid": draw(text),
        "actor": draw(text),
        "correlationid": draw(text),
        "causationid": draw(st.none() | text),
        "traceparent": draw(st.none() | traceparents),
        "tracestate": draw(st.none() | st.from_regex(r"\A[a-z]{1,8}=[a-z0-9]{1,8}\Z")),
        "streamid": draw(text),
        "streamversion": draw(st.integers(1, 2**62)),
        "partitionkey": draw(text),
    }
    return EventEnvelope(**values)
