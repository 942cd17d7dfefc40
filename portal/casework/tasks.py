"""The back office's background work: delivering a hand-off to the next municipality."""

from __future__ import annotations

from portal import jobs
from portal.casework import handoff

DELIVER_HAND_OFF_TASK = "casework.deliver_hand_off"


@jobs.task(name=DELIVER_HAND_OFF_TASK)
def deliver_hand_off(hand_off_id: int) -> None:
    """Idempotent: a hand-off delivered once is not delivered again (see ``handoff.deliver``)."""
    handoff.deliver(hand_off_id)
