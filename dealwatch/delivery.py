"""Delivering the outbox, destination by destination: which alerts each destination still needs, when a
destination counts as down, what is recorded. No I/O of its own: the warehouse (DuckDB) keeps the outbox and
the destinations' health, the Notifier (apprise) sends; flows/ wires this into the cycle and deliver-alerts.

Delivery health per destination (one notification URL, named in its masked form). A destination is tried
at most until its first transient failure in a delivery: a mail server that is down costs one failed
attempt per delivery, however many alerts wait for it, and nothing else is held up. Every later delivery
tries it again (once); when it works, everything pending for it goes out in that delivery, one digest when
more than the digest threshold wait. Alerts pending for a down destination never give up, however long it
is down. A permanent failure (authentication refused, a rejected address, a malformed request: see
alerts.Attempt) marks the alert failed for that destination, with the reason, until `dealwatch alerts
--retry` re-queues it.

An alert is sent once every destination its tag routes to has it; failed once every such destination has
it or refused it for good (and one did); pending otherwise. Each message is recorded as delivered the
moment it went out, per destination, so a delivery killed half-way sends nobody anything twice (but the one
message in flight, see README "Alerts: exactly once"), and a delivery stopped (SIGTERM, an error) gives its
claims back at once: the next one carries on.

With two or more destinations, one failing for over REPORT_OUTAGE_AFTER is reported through the others,
once per outage, by whichever deliverer claims the report first (Warehouse.claim_outage_report).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from dealwatch.alerts import DEFAULT_TARGET, Message, Notifier, plan_messages
from dealwatch.model import Alert
from dealwatch.warehouse import AlertOutcome, DestinationState, Warehouse, utcnow

REPORT_OUTAGE_AFTER = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class DestinationChange:
    """A destination that went down or came back in a delivery (for an event, a log line)."""

    destination: str
    state: str                          # "failing" (it went down) | "ok" (it is back)
    since: datetime | None = None       # when the outage began
    error: str | None = None


@dataclass
class OutboxReport:
    alerts_sent: int = 0                # alerts that reached every destination they go to
    alerts_failed: int = 0              # alerts still missing somewhere (pending, or refused for good)
    alerts_refused: int = 0             # of those: refused for good by a destination (status failed)
    messages: int = 0                   # messages that went out
    changes: list[DestinationChange] = field(default_factory=list)
    outages_reported: list[str] = field(default_factory=list)   # destinations reported down through the others


def deliver_outbox(warehouse: Warehouse, notifier: Notifier, digest_threshold: int,
                   clock: Callable[[], datetime] = utcnow, today: date | None = None,
                   report_outage_after: timedelta = REPORT_OUTAGE_AFTER, target: str = DEFAULT_TARGET) -> OutboxReport:
    """Deliver the outbox's due alerts to every destination that still needs them (see the module doc).
    clock: now, as naive UTC (tests inject one to let hours pass). target: the deliverer's profile's label,
    for the alerts raised before their own was stored (each names the target it was raised under)."""
    report = OutboxReport()
    due = warehouse.claim_alerts(clock())
    today = today or clock().date()
    delivered = {a.id: set(a.delivered_to) for a in due}
    earlier = warehouse.refusals([a.id for a in due if a.failed_to])
    refused: dict[int, dict[str, str]] = {a.id: dict(earlier.get(a.id, {})) for a in due}
    waiting: dict[str, str] = {}         # destination -> its error, for the alerts it still owes
    tried: set[int] = set()
    try:
        for destination in notifier.destinations:
            pending = [a for a in due if destination in notifier.routes(a.kind)
                       and destination not in delivered[a.id] and destination not in refused[a.id]]
            if pending:
                _deliver_to(warehouse, notifier, destination, pending, digest_threshold, today, clock,
                            delivered, refused, waiting, tried, report, target)
    finally:   # whatever happens (SIGTERM, an error), the claims are settled: the next delivery carries on
        outcomes = [_outcome(a, notifier.routes(a.kind), delivered[a.id], refused[a.id], waiting, a.id in tried)
                    for a in due]
        warehouse.settle_alerts(outcomes, clock())
    for outcome in outcomes:
        report.alerts_sent += outcome.status == "sent"
        report.alerts_failed += outcome.status != "sent"
        report.alerts_refused += outcome.status == "failed"
    if len(notifier.destinations) > 1:
        _report_outages(warehouse, notifier, today, clock, report_outage_after, report)
    return report


def _deliver_to(warehouse: Warehouse, notifier: Notifier, destination: str, pending: list[Alert],
                digest_threshold: int, today: date, clock, delivered: dict[int, set[str]],
                refused: dict[int, dict[str, str]], waiting: dict[str, str], tried: set[int],
                report: OutboxReport, target: str = DEFAULT_TARGET) -> None:
    """Everything pending for one destination, until its first transient failure."""
    for message, group in plan_messages(pending, today, digest_threshold, target=target):
        ids = [a.id for a in group]
        attempt = notifier.send_to(destination, message)
        if attempt.ok:
            warehouse.mark_delivered(ids, clock(), destination=destination)
            for i in ids:
                delivered[i].add(destination)
            report.messages += 1
        elif attempt.permanent:
            warehouse.mark_refused(ids, destination, attempt.error or "refused", clock())
            for i in ids:
                refused[i][destination] = attempt.error or "refused"
        else:
            waiting[destination] = attempt.error or "delivery failed"
            tried.update(ids)
        _record_attempt(warehouse, destination, attempt.ok, attempt.error, clock(), report)
        if not attempt.ok and not attempt.permanent:
            return     # down: not tried again in this delivery; its other alerts wait for the next one


def _record_attempt(warehouse: Warehouse, destination: str, ok: bool, error: str | None, now: datetime,
                    report: OutboxReport) -> None:
    before = warehouse.record_attempt(destination, ok, error, now)
    if ok and before.state == "failing":
        report.changes.append(DestinationChange(destination, "ok", before.failing_since))
    elif not ok and before.state != "failing":
        report.changes.append(DestinationChange(destination, "failing", now, error))


def _outcome(alert: Alert, routes: list[str], delivered: set[str], refused: dict[str, str],
             waiting: dict[str, str], tried: bool) -> AlertOutcome:
    missing = [d for d in routes if d not in delivered and d not in refused]
    refusals = [f"{d}: {refused[d]}" for d in routes if d in refused and d not in delivered]
    if not missing:
        if refusals:
            return AlertOutcome(alert.id, "failed", "; ".join(refusals), tried)
        return AlertOutcome(alert.id, "sent")
    errors = [f"{d}: {waiting[d]}" for d in missing if d in waiting] + refusals
    return AlertOutcome(alert.id, "pending", "; ".join(errors) or None, tried)


def _report_outages(warehouse: Warehouse, notifier: Notifier, today: date, clock, after: timedelta,
                    report: OutboxReport) -> None:
    """Tell the working destinations about one failing for longer than `after`, once per outage."""
    states = warehouse.destinations()
    configured = notifier.destinations
    now = clock()
    for destination in configured:
        state = states.get(destination)
        if not (state and state.state == "failing" and state.failing_since and state.reported_at is None
                and now - state.failing_since >= after):
            continue
        claimed_at = warehouse.claim_outage_report(destination, clock())
        if claimed_at is None:   # another deliverer (another shard's cycle, deliver-alerts) is reporting it
            continue
        message = outage_message(state, now)
        reached = False
        try:
            for other in configured:
                other_state = states.get(other)
                if other == destination or (other_state and other_state.state == "failing"):
                    continue
                attempt = notifier.send_to(other, message)
                _record_attempt(warehouse, other, attempt.ok, attempt.error, clock(), report)
                reached |= attempt.ok
        finally:   # (a delivery killed outright keeps the claim: that outage then goes unreported, never twice)
            if not reached:
                warehouse.release_outage_report(destination, claimed_at)
        if reached:
            report.outages_reported.append(destination)


def outage_message(state: DestinationState, now: datetime) -> Message:
    hours = (now - state.failing_since).total_seconds() / 3600 if state.failing_since else 0
    since = state.failing_since.strftime("%Y-%m-%d %H:%M UTC") if state.failing_since else "a while"
    body = (f"dealwatch cannot deliver alerts to {state.destination}: it has been failing since {since} "
            f"({hours:.1f} hours, {state.failed_attempts} failed attempts).\n\n"
            f"Last error: {state.last_error or 'unknown'}\n\n"
            f"Its alerts are kept and go out as soon as it works again; `dealwatch alerts` shows every "
            f"destination's state.")
    return Message(title=f"dealwatch: a notification channel has been down since {since}",
                   body=body, body_format="text", tag=None, notify_type="failure")


__all__ = ["DestinationChange", "OutboxReport", "REPORT_OUTAGE_AFTER", "deliver_outbox", "outage_message"]
