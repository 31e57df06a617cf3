"""When each feed is polled next, and why: its own clock, adapted to how often it publishes. No I/O: the
warehouse keeps each feed's state (feeds table) and calls next_poll() after every poll.

How often: a feed's publication rate is estimated from the new entries its polls find, weighted by age
(time constant RATE_HOURS: a feed that starts publishing often is polled often within an hour or two, and
slowed again as it goes quiet), seeded on the first poll by the publication dates of the entries it lists.
The interval follows the square-root rule: polling a feed of rate r every I seconds costs 1/I requests and
makes its items wait I/2 on average, and the interval that minimises (requests x REQUEST_WORTH + wait) is
sqrt(2 REQUEST_WORTH / r): a feed publishing every 4 minutes is polled every 2 minutes (FLOOR), one
publishing hourly every ~8 minutes, one that is idle every hour (CEILING). And a budget: all feeds together
make at most BUDGET_PER_FEED_HOUR requests an hour per feed, less than a 15-minute cron's 4 (budget());
when the rule would make more, its constant grows until they fit (spacing()), which shares the budget so
that the mean wait of all items is least. benchmarks/run.py --freshness measures the result.

Never more often than the feed allows: Cache-Control max-age and RSS <ttl> (the document is fresh that
long), Retry-After (after a 429/503 and the like), skipHours (UTC hours in which the feed asks not to be
read), and the backoff after failures. These make `not_before`, which binds every cycle, also `dealwatch
run` and a fixed cron; `due_at` (>= not_before) is the feed's own clock, which `dealwatch serve`'s short
cycles follow.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

FLOOR = timedelta(minutes=2)          # not more often than this however often it publishes (serve rounds a due
                                      # time to its nearest tick: up to half a tick sooner)
CEILING = timedelta(hours=1)          # an idle feed is still polled this often
REQUEST_WORTH = 30.0                  # item-seconds of waiting one request is worth (the square-root rule)
RATE_HOURS = 3.0                      # the rate estimate's time constant: older observations weigh e^(-age/this)
PRIOR_ITEMS, PRIOR_HOURS = 0.01, 0.1  # a feed with no history is taken to publish ~0.1 items/h (~25 min),
                                      # a guess soon outweighed by what its polls find
SEED_WINDOW = timedelta(hours=24)     # the first poll's listed entries count if published this recently
HINT_CAP = timedelta(hours=24)        # a max-age, ttl or Retry-After longer than this is read as this long
BUDGET_PER_FEED_HOUR = 3.5            # requests an hour in all, per feed: below a 15-minute cron's 4
BUDGET_MIN = 120.0                    # ... but at least this many (a short list's few busy feeds at the FLOOR)


@dataclass(frozen=True, slots=True)
class Rate:
    """A feed's publication rate: new entries found (decayed count) over observed hours (decayed)."""

    items: float = 0.0
    hours: float = 0.0

    @property
    def per_hour(self) -> float:
        return (self.items + PRIOR_ITEMS) / (self.hours + PRIOR_HOURS)

    def observed(self, new_items: int, elapsed: timedelta) -> Rate:
        """After a successful poll that found new_items new entries, `elapsed` after the previous one."""
        hours = max(0.0, elapsed.total_seconds() / 3600)
        keep = math.exp(-hours / RATE_HOURS)
        return Rate(self.items * keep + new_items, self.hours * keep + RATE_HOURS * (1 - keep))


def seeded_rate(published: Iterable[datetime | None], now: datetime) -> Rate:
    """A first estimate from the publication dates of the entries a feed lists on its first poll: those of
    the last SEED_WINDOW, over the span from the oldest listed one to now, at most SEED_WINDOW (a feed lists
    only its latest entries: a busy feed's 20 span an hour, not a day; an idle one's are all older). No
    dated entry: no estimate (the prior)."""
    window = SEED_WINDOW.total_seconds() / 3600
    ages = [(now - p).total_seconds() / 3600 for p in published if p is not None]
    ages = [a for a in ages if a >= 0]
    if not ages:
        return Rate()
    span = min(window, max(max(ages), 0.25))
    return Rate(sum(math.exp(-a / RATE_HOURS) for a in ages if a <= window),
                RATE_HOURS * (1 - math.exp(-span / RATE_HOURS)))


K_WORTH = math.sqrt(2 * REQUEST_WORTH / 3600)   # the rule's constant: interval (h) = K / sqrt(rate per h)


def interval_for(rate_per_hour: float, spacing: float | None = None) -> timedelta:
    """The square-root rule (module doc), between FLOOR and CEILING: K / sqrt(rate) hours, K the larger of
    K_WORTH and `spacing` (the budget's, see spacing())."""
    k = max(K_WORTH, spacing or 0.0)
    hours = k / math.sqrt(max(rate_per_hour, 1e-9))
    return min(CEILING, max(FLOOR, timedelta(hours=hours)))


def budget(feeds: int) -> float:
    """Requests an hour in all for this many feeds (module doc)."""
    return max(BUDGET_MIN, BUDGET_PER_FEED_HOUR * feeds)


def spacing(rates_per_hour: Sequence[float], budget_per_hour: float) -> float:
    """The smallest square-root rule constant K (>= K_WORTH) with which feeds of these rates make at most
    budget_per_hour requests an hour in all: the budget shared so that the mean wait of all items is
    least (interval ~ 1/sqrt(rate)). Feeds held at the CEILING still cost their one request an hour."""
    def requests(k: float) -> float:
        return sum(3600 / interval_for(r, k).total_seconds() for r in rates_per_hour)
    low, high = K_WORTH, K_WORTH
    if requests(low) <= budget_per_hour:
        return K_WORTH
    while requests(high) > budget_per_hour and high < 1e4:
        high *= 2
    for _ in range(40):
        middle = (low + high) / 2
        low, high = (low, middle) if requests(middle) <= budget_per_hour else (middle, high)
    return high


# -- what a feed asks for ---------------------------------------------------------------------------------

_MAX_AGE = re.compile(r"(?:^|,)\s*(s-maxage|max-age)\s*=\s*\"?(\d+)", re.I)


def cache_max_age(cache_control: str | None) -> float | None:
    """Seconds from a Cache-Control header's max-age (s-maxage, meant for the shared caches between us and
    the feed, wins); None when absent, zero, or no-cache / no-store (no freshness promised)."""
    if not cache_control or re.search(r"(?:^|,)\s*no-(?:cache|store)\b", cache_control, re.I):
        return None
    found = {name.lower(): int(value) for name, value in _MAX_AGE.findall(cache_control)}
    seconds = found.get("s-maxage", found.get("max-age"))
    return float(seconds) if seconds else None


def _skip_text(hours: Sequence[int]) -> str:
    """[0, 1, 2, 5] -> '0-2, 5'."""
    spans, start = [], None
    ordered = sorted(set(hours))
    for i, h in enumerate(ordered):
        if start is None:
            start = h
        if i + 1 == len(ordered) or ordered[i + 1] != h + 1:
            spans.append(f"{start}" if start == h else f"{start}-{h}")
            start = None
    return ", ".join(spans)


def outside_skip_hours(moment: datetime, skip_hours: Sequence[int]) -> datetime:
    """moment, or the start of the first following hour (UTC, as skipHours) that is not skipped. All 24
    hours skipped is a broken feed, not a request never to read it: ignored."""
    skip = set(skip_hours or ())
    if not skip or len(skip & set(range(24))) >= 24:
        return moment
    while moment.hour in skip:
        moment = moment.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return moment


@dataclass(frozen=True, slots=True)
class Next:
    """The outcome of scheduling one feed: polled not before not_before (what the feed allows), due by its
    own clock at due_at, and why, in words for `dealwatch feeds`."""

    due_at: datetime
    not_before: datetime | None
    reason: str
    rate: Rate


def next_poll(now: datetime, *, rate: Rate, ok: bool, max_age: float | None = None, ttl: float | None = None,
              retry_after: float | None = None, skip_hours: Sequence[int] = (),
              backoff: timedelta | None = None, failures: int = 0, spacing: float | None = None) -> Next:
    """When a feed just polled at `now` is polled next. rate: its estimate including this poll. ok: the poll
    worked. max_age / ttl / retry_after: seconds the feed asked for (None: not asked); skip_hours: its
    skipHours; backoff: the wait after a failure (the warehouse's backoff), failures: how many in a row;
    spacing: the request budget's constant of the square-root rule (spacing()), None: K_WORTH alone."""
    per_hour = rate.per_hour
    own = interval_for(per_hour, spacing)
    if own == FLOOR:
        why = f"publishes ~{per_hour:.1f} items/h: every {_span(own)} (the floor)"
    elif own == CEILING:
        why = f"idle (~{per_hour:.2f} items/h): every {_span(own)} (the ceiling)"
    else:
        why = f"publishes ~{per_hour:.2f} items/h: every {_span(own)}" + (
            " (sharing the request budget)" if spacing and spacing > K_WORTH else "")
    limits = []   # (seconds, why): what the feed allows
    if max_age:
        limits.append((max_age, f"Cache-Control max-age {max_age:g} s"))
    if ttl:
        limits.append((ttl, f"RSS ttl {ttl / 60:g} min"))
    if retry_after:
        limits.append((retry_after, f"Retry-After {retry_after:g} s"))
    if not ok and backoff:
        limits.append((backoff.total_seconds(), f"backing off after {failures} failure(s)"))
    not_before, limit_why = None, None
    if limits:
        seconds, limit_why = max(limits, key=lambda limit: limit[0])
        not_before = now + min(HINT_CAP, timedelta(seconds=seconds))
    due_at = now + own
    if not_before is not None and not_before >= due_at:
        due_at, why = not_before, limit_why
    if skip_hours:
        allowed = outside_skip_hours(due_at, skip_hours)
        if allowed != due_at:
            due_at, why = allowed, f"skipHours {_skip_text(skip_hours)} (UTC)"
        if not_before is not None:
            not_before = outside_skip_hours(not_before, skip_hours)
    return Next(due_at=due_at, not_before=not_before, reason=why, rate=rate)


def _span(interval: timedelta) -> str:
    seconds = interval.total_seconds()
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"
