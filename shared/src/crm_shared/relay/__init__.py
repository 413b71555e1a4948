"""The outbox relay: committed events to Kafka, in order, at least once."""

from crm_shared.relay.gaps import GapGuard, Snapshot
from crm_shared.relay.relay import OutboxRelay, RelayConfig

__all__ = ["GapGuard", "OutboxRelay", "RelayConfig", "Snapshot"]
