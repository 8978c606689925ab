"""Response-time clock: when a first staff response is due, per queue.

Targets come from ``config/response_targets.yaml``: business hours per queue,
and wall-clock minutes for urgent and emergency requests (which cannot wait
for the office to open).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from intake.config import response_targets
from intake.models import Queue, Urgency

_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class BusinessHours:
    """Opening hours of the practice, in its own time zone."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.zone = ZoneInfo(spec.get("timezone", "UTC"))
        self.days = {_DAYS.index(d) for d in spec.get("days", _DAYS[:5])}
        self.open = time.fromisoformat(spec.get("open", "08:00"))
        self.close = time.fromisoformat(spec.get("close", "17:00"))
        if not self.days or self.close <= self.open:
            raise ValueError("business_hours needs at least one day and close > open")

    def add(self, start: datetime, hours: float) -> datetime:
        """``start`` plus ``hours`` of business time (returned in UTC)."""
        remaining = timedelta(hours=hours)
        moment = _aware(start).astimezone(self.zone)
        while True:
            day_open = moment.replace(hour=self.open.hour, minute=self.open.minute,
                                      second=0, microsecond=0)
            day_close = moment.replace(hour=self.close.hour,
                                       minute=self.close.minute, second=0,
                                       microsecond=0)
            if moment.weekday() not in self.days or moment >= day_close:
                moment = (day_open + timedelta(days=1))
                continue
            moment = max(moment, day_open)
            available = day_close - moment
            if remaining <= available:
                return (moment + remaining).astimezone(UTC)
            remaining -= available
            moment = day_open + timedelta(days=1)

    def elapsed(self, start: datetime, end: datetime) -> float:
        """Business hours between two moments."""
        start = _aware(start).astimezone(self.zone)
        end = _aware(end).astimezone(self.zone)
        if end <= start:
            return 0.0
        total = timedelta()
        day = start.replace(hour=0, minute=0, second=0, microsecond=0)
        while day <= end:
            if day.weekday() in self.days:
                day_open = day.replace(hour=self.open.hour, minute=self.open.minute)
                day_close = day.replace(hour=self.close.hour, minute=self.close.minute)
                lo, hi = max(start, day_open), min(end, day_close)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total.total_seconds() / 3600


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def business_hours() -> BusinessHours:
    return BusinessHours(response_targets()["business_hours"])


def response_due(received_at: datetime, queue: Queue, urgency: Urgency) -> datetime:
    """When the first staff response is due for a request."""
    targets = response_targets()
    by_urgency = targets.get("urgency", {}).get(str(urgency))
    if by_urgency and "wall_clock_minutes" in by_urgency:
        return _aware(received_at).astimezone(UTC) + timedelta(
            minutes=by_urgency["wall_clock_minutes"]
        )
    hours = targets["queues"][str(queue)]["hours"]
    if by_urgency and "hours" in by_urgency:
        hours = min(hours, by_urgency["hours"])
    return business_hours().add(received_at, hours)


def target_seconds(received_at: datetime, queue: Queue, urgency: Urgency) -> int:
    """Seconds from ``received_at`` to the response target (at least a minute)."""
    due = response_due(received_at, queue, urgency)
    return max(60, int((due - _aware(received_at)).total_seconds()))
