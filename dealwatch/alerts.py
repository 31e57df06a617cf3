"""The notification edge: messages people want to read, delivered through apprise.

A library module: alerts (dealwatch.model.Alert) in, messages out, delivered to whatever apprise URLs or
apprise config files the user gave. No DuckDB and no Prefect here: the warehouse owns the outbox and its
pending -> sent/failed state machine; it calls plan_messages() and Notifier.send() and records the Delivery.

Titles and the harness. A single alert's title names exactly its item (the bidder, or the deadline's ISO
date) and nothing else that looks like a bidder or a dated date, so that whoever reads titles (people at a
glance, and the evaluation harness) sees one item per notification. A digest's title names no item at all;
its body lists every item.

Tag routing (Notifier.send). A message carries the tag "bidder" or "deadline" (a digest of both kinds
carries none). Apprise's own rule (notify(tag="deadline")) would skip every URL that has no tag, which
surprises users who tag only one of their URLs. dealwatch's rule is:

- a message tagged T goes to every URL tagged T, every URL without any tag, and every URL tagged "always"
  (apprise's keyword); URLs whose tags are all other tags (e.g. only "bidder") are skipped;
- a message without a tag (a mixed digest, a test) goes to every URL.

So `--notify mailto://...` alone receives everything, and an apprise config file with
`tag: deadline` on the email URL and `tag: bidder` on the chat URL splits them. Apprise tag priorities
("1:deadline") are read as the plain tag name: every matching URL is notified (no escalation chains).

Secrets: a URL is only ever named in apprise's privacy form (masked()); errors captured from apprise's
log are scrubbed of every part of the URL that the privacy form hides.
"""
from __future__ import annotations

import html
import logging
import re
import threading
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal
from urllib.parse import quote, unquote, urlsplit

import apprise
from apprise import LogCapture, NotifyFormat, NotifyType
from apprise.plugins import N_MGR as _PLUGINS

from dealwatch.model import Alert

__all__ = [
    "Attempt", "Delivery", "Message", "Notifier", "NotifyConfigError", "compose", "compose_digest", "masked",
    "plan_messages", "send_test", "DEFAULT_DIGEST_THRESHOLD", "DEFAULT_TARGET",
]

BodyFormat = Literal["text", "markdown", "html"]
# The target's name when no one gives one: the bundled profile's [target] label. The delivery names each alert's
# own target (Alert.target_label, stored when it was raised), else the deliverer's profile's label.
DEFAULT_TARGET = "TikTok US"
DEFAULT_DIGEST_THRESHOLD = 10
MAX_EVIDENCE_CHARS = 600
MAX_TITLE_CHARS = 200
ALWAYS_TAG = "always"          # apprise's keyword: a URL tagged "always" receives every message

# What a deadline is for, by detail["kind"]: a phrase that reads after the date.
DEADLINE_KINDS = {
    "sale": "deadline for the sale",
    "divestiture": "deadline for the sale",
    "divestment": "deadline for the sale",
    "ban": "the ban takes effect",
    "talks": "deadline for the talks",
    "negotiations": "deadline for the talks",
    "extension": "end of the extension",
    "court": "court date",
    "hearing": "court date",
    "review": "end of the review",
    "approval": "deadline for approval",
    "closing": "expected closing",
}


from dealwatch.errors import NotifyConfigError  # noqa: E402  (re-exported)


@dataclass(frozen=True, slots=True)
class Message:
    """One notification: what apprise sends."""

    title: str
    body: str
    body_format: BodyFormat = "markdown"
    tag: str | None = None              # "bidder" | "deadline" | None (every URL)
    notify_type: str = "info"           # apprise NotifyType: info | success | warning | failure


@dataclass(frozen=True, slots=True)
class Attempt:
    """One message to one destination. permanent: the destination refused it for good (authentication
    refused, a rejected address, a malformed request): trying again will not help until someone fixes it.
    Any other failure (connection refused, timed out, a 5xx, an SMTP 4xx) is transient."""

    ok: bool
    error: str | None = None            # why not (masked), from apprise's log
    permanent: bool = False


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to one Message. ok is True when every URL it was routed to accepted it."""

    ok: bool
    error: str | None = None            # why not, per failed URL (masked), from apprise's log
    delivered_to: list[str] = field(default_factory=list)   # masked URLs that accepted it
    failed: list[str] = field(default_factory=list)         # masked URLs that did not


# -- text helpers -----------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]#])")   # ( ) ! only act after ] or before [


def _clean(text: object, limit: int | None = None) -> str:
    """One line of web text: no control or bidi characters, whitespace collapsed, shortened with '…'."""
    s = _CONTROL.sub(" ", str(text or ""))
    s = " ".join(s.split())
    if limit and len(s) > limit:
        s = s[: limit - 1].rstrip() + "…"
    return s


_TITLE_UNSAFE = re.compile(r"[<>\[\]*_`\\]")


def _title_part(text: object, limit: int) -> str:
    """Web text for a title: one line, without characters that mean markup anywhere (titles are sent
    unescaped, and some services fold the title into a markdown or HTML body)."""
    return _clean(_TITLE_UNSAFE.sub(" ", str(text or "")), limit)


def _escape(text: str, body_format: str) -> str:
    """Web text made inert for the body format (markdown: no emphasis, links, HTML or block syntax)."""
    if body_format == "html":
        return html.escape(text, quote=True)
    if body_format == "markdown":
        # Python-Markdown passes raw HTML through and does not honour "\<": use entities for < > &
        # (CommonMark renderers show them as the characters), backslashes for inline syntax.
        s = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        s = _MD_SPECIAL.sub(r"\\\1", s)
        return re.sub(r"^(\d+)\.(?=\s)", r"\1\\.", s)   # "2025. ..." would start an ordered list
    return text


def _safe_url(url: str) -> str | None:
    """The link if it is http(s), with characters that break markup percent-encoded; else None."""
    url = _clean(url)
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    if scheme not in ("http", "https"):
        return None
    return quote(url, safe=":/?#@!$&'*+,;=%~-._")


def _link(url: str, text: str, body_format: str) -> str:
    """A clickable link to url labelled with (already escaped) text; the raw URL as text if not http(s)."""
    safe = _safe_url(url)
    if safe is None:
        return f"{text} ({_escape(_clean(url, 300), body_format)})" if url else text
    if body_format == "html":
        return f'<a href="{html.escape(safe, quote=True)}">{text}</a>'
    if body_format == "markdown":
        return f"[{text}]({safe})"
    return f"{text} <{safe}>"


def _bare_link(url: str, body_format: str) -> str:
    safe = _safe_url(url)
    if safe is None:
        return _escape(_clean(url, 300), body_format)
    if body_format == "html":
        return f'<a href="{html.escape(safe, quote=True)}">{html.escape(safe)}</a>'
    if body_format == "markdown":
        return f"<{safe}>"      # an autolink: no emphasis inside, clickable
    return safe


def _strong(text: str, body_format: str) -> str:
    if body_format == "html":
        return f"<b>{text}</b>"
    if body_format == "markdown":
        return f"**{text}**"
    return text


def _paragraphs(parts: Iterable[str], body_format: str) -> str:
    parts = [p for p in parts if p]
    if body_format == "html":
        return "\n".join(p if p.startswith("<") and not p.startswith(("<b>", "<a ")) else f"<p>{p}</p>"
                         for p in parts)
    return "\n\n".join(parts)


def _quote(text: str, body_format: str) -> str:
    if body_format == "html":
        return f"<blockquote>“{text}”</blockquote>"
    if body_format == "markdown":
        return f"> “{text}”"
    return f"“{text}”"


_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


def _long_date(d: date) -> str:
    """'Saturday, 5 April 2025': English whatever the process locale."""
    return f"{_DAYS[d.weekday()]}, {d.day} {_MONTHS[d.month - 1]} {d.year}"


def _relative(d: date, today: date) -> str:
    days = (d - today).days
    if days > 1:
        return f"in {days} days"
    if days == 1:
        return "tomorrow"
    if days == 0:
        return "today"
    if days == -1:
        return "passed yesterday"
    return f"passed {-days} days ago"


def _deadline_date(alert: Alert) -> date | None:
    try:
        return date.fromisoformat(str(alert.value).strip()[:10])
    except ValueError:
        return None


def _what(alert: Alert) -> str:
    """What the deadline is for, as a short phrase without digits (so a title never gains a second date)."""
    kind = _clean((alert.detail or {}).get("kind") or "").lower()
    if not kind or kind == "deadline":
        return ""
    if kind in DEADLINE_KINDS:
        return DEADLINE_KINDS[kind]
    words = re.sub(r"[^a-z \-]", " ", kind)
    words = " ".join(words.split())[:40]
    return f"{words} deadline" if words else ""


def _replaces(alert: Alert) -> date | None:
    value = (alert.detail or {}).get("replaces")
    if not value:
        return None
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None


def _source_line(alert: Alert, body_format: str, with_date: bool = True) -> str:
    title = _escape(_clean(alert.article_title, MAX_TITLE_CHARS) or "the article", body_format)
    bits = [_link(alert.article_url, title, body_format)]
    if alert.source:
        bits.append(_escape(_clean(alert.source, 100), body_format))
    if with_date and alert.published:
        bits.append(f"published {alert.published.isoformat()}")
    return " · ".join(bits)


# -- composing --------------------------------------------------------------------------------------

def compose(alert: Alert, today: date, target: str = DEFAULT_TARGET,
            body_format: BodyFormat = "markdown") -> Message:
    """The notification for one alert: a title naming only its item, a body with the evidence and link."""
    fmt = str(body_format)
    target = _title_part(target, 80)
    if alert.kind == "bidder":
        name = _title_part(alert.value, 120)
        role = _clean((alert.detail or {}).get("role") or "", 80)
        fact = f"{_strong(_escape(name, fmt), fmt)} appears as a new bidder for {_escape(target, fmt)}"
        fact += f" (role: {_escape(role, fmt)})." if role else "."
        title = f"New bidder for {target}: {name}"
        tag, notify_type = "bidder", NotifyType.INFO.value
    else:
        day = _deadline_date(alert)
        what = _what(alert)
        lead = f"New deadline for {_escape(target, fmt)}" + (f", {what}" if what else "")
        if day is None:     # not an ISO date: say what we have, never crash
            value = _title_part(alert.value, 80)
            title = f"New {target} deadline: {value}" + (f" ({what})" if what else "")
            fact = f"{lead}: {_strong(_escape(value, fmt), fmt)}."
        else:
            when = _relative(day, today)
            title = f"New {target} deadline: {day.isoformat()} ({what + ', ' if what else ''}{when})"
            fact = f"{lead}: {_strong(_long_date(day), fmt)} ({day.isoformat()}), {when}."
        replaced = _replaces(alert)
        if replaced:
            fact += f" It replaces {_long_date(replaced)} ({replaced.isoformat()})."
        expression = _clean((alert.detail or {}).get("expression") or "", 200)
        if expression:
            fact += f" In the article's words: “{_escape(expression, fmt)}”."
        tag, notify_type = "deadline", NotifyType.WARNING.value
    evidence = _clean(alert.evidence, MAX_EVIDENCE_CHARS)
    body = _paragraphs([
        fact,
        _quote(_escape(evidence, fmt), fmt) if evidence else "",
        "Source: " + _source_line(alert, fmt),
        "Link: " + _bare_link(alert.article_url, fmt) if alert.article_url else "",
    ], fmt)
    return Message(title=_clean(title, 250), body=body, body_format=body_format, tag=tag,
                   notify_type=notify_type)


def _plural(n: int, word: str) -> str:
    return f"{n} new {word}{'' if n == 1 else 's'}"


def compose_digest(alerts: Sequence[Alert], today: date, target: str = DEFAULT_TARGET,
                   body_format: BodyFormat = "markdown", evidence: bool = True) -> Message:
    """One message for many alerts: a title naming no item, a body listing every item (bidders, then
    deadlines by date) with its evidence and link.

    The body writes no date but the deadlines themselves (no publication or "replaces" dates), so that a
    reader who scans the digest for dates finds exactly the new ones. evidence=False leaves the quoted
    sentences out (they may name other bidders and dates).
    """
    fmt = str(body_format)
    target = _title_part(target, 80)
    bidders = [a for a in alerts if a.kind == "bidder"]
    deadlines = sorted((a for a in alerts if a.kind != "bidder"),
                       key=lambda a: (_deadline_date(a) or date.max, str(a.value)))
    counts = [c for c in (_plural(len(bidders), "bidder") if bidders else "",
                          _plural(len(deadlines), "deadline") if deadlines else "") if c]
    title = f"dealwatch: {' and '.join(counts) or 'nothing new'} for {target}"

    def entry(a: Alert) -> str:
        if a.kind == "bidder":
            head = _strong(_escape(_clean(a.value, 120), fmt), fmt)
            role = _clean((a.detail or {}).get("role") or "", 80)
            if role:
                head += f" ({_escape(role, fmt)})"
        else:
            day = _deadline_date(a)
            if day is None:
                head = _strong(_escape(_clean(a.value, 80), fmt), fmt) + (f" ({_what(a)})" if _what(a) else "")
            else:
                head = (f"{_strong(day.isoformat(), fmt)} ({_DAYS[day.weekday()]}): "
                        f"{_what(a) + ', ' if _what(a) else ''}{_relative(day, today)}")
                if _replaces(a):
                    head += ", replaces an earlier date"
        parts = [head]
        text = _clean(a.evidence, MAX_EVIDENCE_CHARS) if evidence else ""
        if text:
            parts.append(f"“{_escape(text, fmt)}”")
        parts.append(_source_line(a, fmt, with_date=False))
        return " — ".join(parts)

    sections = []
    for heading, group in (("New bidders", bidders), ("New deadlines", deadlines)):
        if not group:
            continue
        if fmt == "html":
            items = "".join(f"<li>{entry(a)}</li>" for a in group)
            sections.append(f"<h3>{heading} ({len(group)})</h3><ul>{items}</ul>")
        elif fmt == "markdown":
            sections.append(f"**{heading} ({len(group)})**\n\n" + "\n".join(f"- {entry(a)}" for a in group))
        else:
            sections.append(f"{heading} ({len(group)}):\n" + "\n".join(f"- {entry(a)}" for a in group))
    intro = f"{' and '.join(counts) or 'Nothing new'} for {_escape(target, fmt)} since the last check."
    body = _paragraphs([intro, *sections], fmt)
    kinds = {a.kind for a in alerts}
    tag = next(iter(kinds)) if len(kinds) == 1 else None
    notify_type = NotifyType.WARNING.value if deadlines else NotifyType.INFO.value
    return Message(title=title, body=body, body_format=body_format, tag=tag, notify_type=notify_type)


def plan_messages(alerts: Sequence[Alert], today: date, digest_threshold: int = DEFAULT_DIGEST_THRESHOLD,
                  target: str = DEFAULT_TARGET, body_format: BodyFormat = "markdown",
                  by_tag: bool = False, digest_evidence: bool = True) -> list[tuple[Message, list[Alert]]]:
    """The messages to send for a batch of alerts, each with the alerts it carries.

    Each alert's message names its own target (Alert.target_label, the label of the profile it was raised
    under); target names those without one. Alerts of different targets never share a digest.
    Up to digest_threshold alerts (of one target): one message each. More: one digest. With by_tag (pass
    Notifier.routes_by_tag: bidders and deadlines go to different places) the threshold applies to the
    bidders and the deadlines separately, so each destination gets its own individual messages or digest.
    A message is delivered or not as a whole: mark all of its alerts with its Delivery.
    digest_evidence=False leaves the quoted sentences out of digests (see compose_digest).
    """
    alerts = list(alerts)
    by_target: dict[str, list[Alert]] = {}
    for a in alerts:
        by_target.setdefault(a.target_label or target, []).append(a)
    plan: list[tuple[Message, list[Alert]]] = []
    for label, of_target in by_target.items():
        groups = ([[a for a in of_target if a.kind == "bidder"], [a for a in of_target if a.kind != "bidder"]]
                  if by_tag else [of_target])
        for group in groups:
            if not group:
                continue
            if len(group) <= max(digest_threshold, 0):
                plan.extend((compose(a, today, label, body_format), [a]) for a in group)
            else:
                plan.append((compose_digest(group, today, label, body_format, evidence=digest_evidence),
                             list(group)))
    return plan


# -- apprise's log ----------------------------------------------------------------------------------

# apprise logs to one shared logger; LogCapture attaches a handler to it. One capture at a time, so a
# delivery's error is its own.
_CAPTURE_LOCK = threading.RLock()


@contextmanager
def _captured(level: int = logging.WARNING):
    """apprise's warnings and errors (and more, with level) while the block runs, kept here: while
    capturing, the "apprise" logger does not propagate, so our caller's logs never get apprise's lines
    (which name URLs, only partly masked); the reasons reach the caller, scrubbed, in Delivery.error or
    NotifyConfigError."""
    logger = logging.getLogger("apprise")
    with _CAPTURE_LOCK:
        propagate = logger.propagate
        logger.propagate = False
        try:
            with LogCapture(level=level) as log:
                yield log
        finally:
            logger.propagate = propagate


def load_plugins_soon() -> None:
    """apprise's notification plugins, loaded in a background thread: apprise imports all ~100 of them
    the first time it reads a URL (~0.2 s of CPU), which would otherwise fall in the cycle's serial end,
    when it delivers. Thread-safe: a Notifier built meanwhile waits for the load (apprise's lock)."""
    def load():
        with _captured():
            _PLUGINS.load_modules()
    threading.Thread(target=load, name="dealwatch-apprise-plugins", daemon=True).start()


# -- masking ----------------------------------------------------------------------------------------

_SCHEME = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.\-]*)://")


def _instantiate_quietly(url: str):
    with _captured() as log:
        plugin = apprise.Apprise.instantiate(url)
    return plugin, log.getvalue()


def masked(url: str) -> str:
    """url in apprise's privacy form (passwords and tokens hidden); safe to log, print or return.

    A URL apprise cannot load is shown as its scheme and host only, everything else replaced by '****'.
    """
    url = str(url or "").strip()
    plugin, _log = _instantiate_quietly(url) if url else (None, "")
    if plugin is not None:
        return plugin.url(privacy=True)
    m = _SCHEME.match(url)
    if not m:
        return "<not a URL>" if url else "<empty URL>"
    rest = url[m.end():]
    hostpart = re.split(r"[/?#]", rest, maxsplit=1)[0]
    had_auth = "@" in hostpart
    host = hostpart.rsplit("@", 1)[-1]
    tail = rest[len(hostpart):]
    shown = f"{m.group(1).lower()}://" + ("****@" if had_auth else "")
    shown += host if re.fullmatch(r"[A-Za-z0-9.\-\[\]:]{1,80}", host) and "." in host else ("****" if host else "")
    if tail.strip("/"):
        shown += "/****"
    return shown


def _secrets_of(urls: Iterable[str], shown: str) -> list[str]:
    """Every piece of the URLs (raw and percent-decoded) that the masked form does not show."""
    found: set[str] = set()
    for url in urls:
        if not url:
            continue
        body = _SCHEME.sub("", url)
        for text in {body, unquote(body)}:
            for token in re.split(r"[/\\:@?&=#,;+\s]+", text):
                if len(token) >= 3 and token not in shown:
                    found.add(token)
        creds = body.split("@", 1)[0] if "@" in body.split("/", 1)[0] else ""
        if ":" in creds:
            password = creds.split(":", 1)[1]
            for p in {password, unquote(password)}:
                if p and p not in shown:
                    found.add(p)
    return sorted(found, key=len, reverse=True)


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "****")
    return text


_LOG_LINE = re.compile(r"^(?:[\d\-: ,]+ - )?(WARNING|ERROR|CRITICAL) - (.*)$")
_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://\S*")
_ECHO = re.compile(r"^(Could not load|Unparseable|Unsupported)\b.*URL", re.IGNORECASE)


def _reasons(log_text: str, secrets: Sequence[str]) -> str:
    """The warnings and errors apprise logged, one line each, deduplicated, scrubbed of secrets.

    URLs that apprise echoes (in its own partly masked form) are replaced by "the URL": the caller names
    the URL in privacy form already. Lines that only say "could not load <URL>" are dropped when a more
    specific reason was logged.
    """
    seen: list[str] = []
    for line in log_text.splitlines():
        m = _LOG_LINE.match(line.strip())
        if m:
            reason = _scrub(_URL_IN_TEXT.sub("the URL", m.group(2).strip()), secrets)
            if reason and reason not in seen:
                seen.append(reason)
    specific = [r for r in seen if not _ECHO.match(r)]
    return "; ".join(specific or seen)


def _known_scheme(scheme: str) -> bool:
    try:
        from apprise.manager_plugins import NotificationManager
        return scheme.lower() in NotificationManager()
    except Exception:  # pragma: no cover - apprise internals moved: do not guess
        return True


# -- delivering -------------------------------------------------------------------------------------

_SMTP_ANSWER = re.compile(r"\((\d{3}), b?['\"]([^'\"]{0,200})")
_HTTP_ERROR = re.compile(r"\berror=(\d{3})\b")
_HTTP_TRANSIENT = {408, 425, 429}


def _server_answer(log_text: str) -> tuple[str, bool]:
    """(what the server answered, whether that is a permanent refusal), from apprise's log (its DEBUG lines
    hold the SMTP reply). SMTP: a 5xx reply is permanent (RFC 5321: 535 authentication refused, 550/553 a
    rejected address), 4xx transient. HTTP: a 4xx but 408, 425 and 429 is permanent (401/403 refused,
    400/404/410/422 a malformed or unknown endpoint), 5xx transient. No answer at all (connection refused,
    timed out, dropped) is transient."""
    smtp = _SMTP_ANSWER.search(log_text)
    if smtp:
        code = int(smtp.group(1))
        return f"SMTP {code} {' '.join(smtp.group(2).split())}".strip(), 500 <= code < 600
    http = _HTTP_ERROR.search(log_text)
    if http:
        code = int(http.group(1))
        return "", 400 <= code < 500 and code not in _HTTP_TRANSIENT
    return "", False



@dataclass(frozen=True, eq=False)
class _Target:
    masked: str
    tags: frozenset[str]
    origin: str                              # "url #n" or the config file's path
    plugin: object = field(repr=False)
    secrets: tuple[str, ...] = field(repr=False, default=())

    def wants(self, tag: str | None) -> bool:
        if tag is None or not self.tags or ALWAYS_TAG in self.tags:
            return True
        return tag.lower() in self.tags


def _tag_names(tags) -> frozenset[str]:
    return frozenset(str(t).strip().lower() for t in (tags or ()) if str(t).strip())


class Notifier:
    """Delivers Messages through apprise to the given URLs and config files.

    urls: apprise URLs (mailto://, mailtos://, slack://, discord://, tgram://, msteams://, ntfy://,
    json://, form://, ...), untagged. config_files: apprise config files (YAML or TEXT), whose URLs may
    carry tags ("deadline", "bidder", "always"). Everything is validated here: a URL or file that apprise
    cannot load raises NotifyConfigError naming it in masked form.

    min_interval: seconds between two messages to the same URL. None keeps apprise's per-service default,
    which is 5.5 s for most services (email, Slack, Discord, Telegram, ...) and 0 for json://, form://,
    xml://: ten individual emails then take ~50 s, one reason to send digests.
    """

    def __init__(self, urls: Iterable[str] = (), config_files: Iterable[str | Path] = (),
                 asset: apprise.AppriseAsset | None = None, min_interval: float | None = None):
        self._asset = asset or apprise.AppriseAsset()
        self._min_interval = min_interval
        self._targets: list[_Target] = []
        problems: list[str] = []
        if isinstance(urls, (str, Path)):
            urls = [str(urls)]
        if isinstance(config_files, (str, Path)):
            config_files = [config_files]
        for n, url in enumerate(urls or (), 1):
            url = str(url).strip()
            if not url:
                problems.append(f"notification URL #{n} is empty")
                continue
            with _captured() as log:
                plugin = apprise.Apprise.instantiate(url, asset=self._asset)
            shown = plugin.url(privacy=True) if plugin is not None else masked(url)
            secrets = tuple(_secrets_of([url, plugin.url(privacy=False) if plugin else ""], shown))
            if plugin is None:
                why = _reasons(log.getvalue(), secrets) or "apprise cannot load it"
                scheme = _SCHEME.match(url)
                if not scheme:
                    hint = "an apprise URL looks like scheme://..., e.g. mailtos://user:pass@example.com"
                elif not _known_scheme(scheme.group(1)):
                    why = f"apprise {apprise.__version__} has no service with the scheme {scheme.group(1).lower()}://"
                    hint = ("Microsoft Teams is workflows:// now; " if scheme.group(1).lower() == "msteams" else "")
                    hint += "see https://github.com/caronc/apprise/wiki for the services and their URLs"
                else:
                    hint = f"check the {scheme.group(1).lower()}:// syntax at https://github.com/caronc/apprise/wiki"
                problems.append(f"notification URL #{n} {shown} is invalid ({why}): {hint}")
                continue
            self._add(_Target(shown, _tag_names(plugin.tags), f"url #{n}", plugin, secrets))
        for path in config_files or ():
            self._load_config(str(path), problems)
        if problems:
            raise NotifyConfigError("; ".join(problems))
        if min_interval is not None:
            for t in self._targets:
                t.plugin.request_rate_per_sec = max(float(min_interval), 0.0)
        if not self._targets:
            raise NotifyConfigError("no notification URL configured: give at least one apprise URL "
                                    "(e.g. mailtos://user:pass@example.com) or an apprise config file")

    def _add(self, target: _Target) -> None:
        """Add a destination; the same URL given twice is one destination (never two copies of a message).
        Its tags merge; untagged anywhere means it takes everything."""
        full = target.plugin.url(privacy=False)
        for i, known in enumerate(self._targets):
            if known.plugin.url(privacy=False) == full:
                tags = frozenset() if not known.tags or not target.tags else known.tags | target.tags
                self._targets[i] = _Target(known.masked, tags, known.origin, known.plugin, known.secrets)
                return
        self._targets.append(target)

    def _load_config(self, path: str, problems: list[str]) -> None:
        is_url = bool(_SCHEME.match(path))
        shown_path = masked(path) if is_url else path
        if not is_url and not Path(path).is_file():
            problems.append(f"notification config file {shown_path} does not exist or is not a file")
            return
        config = apprise.AppriseConfig(asset=self._asset)
        with _captured() as log:
            added = config.add(path)
            servers = list(config.servers()) if added else []
        logged = log.getvalue()
        why = _reasons(logged, [])
        if not added or re.search(r" - (ERROR|CRITICAL) - ", logged):   # warnings alone do not reject it
            problems.append(f"notification config file {shown_path} has errors ({why or 'cannot be read'}): "
                            "fix it following apprise's YAML/TEXT config format "
                            "(https://github.com/caronc/apprise/wiki/config)")
            return
        if not servers:
            problems.append(f"notification config file {shown_path} holds no notification URL")
            return
        for plugin in servers:
            shown = plugin.url(privacy=True)
            secrets = tuple(_secrets_of([plugin.url(privacy=False)], shown))
            self._add(_Target(shown, _tag_names(plugin.tags), shown_path, plugin, secrets))

    @property
    def targets(self) -> list[tuple[str, frozenset[str]]]:
        """(masked URL, tags) of every configured destination."""
        return [(t.masked, t.tags) for t in self._targets]

    @property
    def routes_by_tag(self) -> bool:
        """True when some URL takes only bidders or only deadlines: plan digests per tag then."""
        return any(t.tags and ALWAYS_TAG not in t.tags and not {"bidder", "deadline"} <= t.tags
                   for t in self._targets)

    def __len__(self) -> int:
        return len(self._targets)

    def _deliver(self, target: _Target, message: Message) -> str | None:
        """None when target accepted message, else why not (masked)."""
        return self._attempt(target, message).error

    def _attempt(self, target: _Target, message: Message) -> Attempt:
        try:
            with _captured(logging.DEBUG) as log:     # DEBUG: apprise logs the server's answer only there
                one = apprise.Apprise(asset=self._asset)
                one.add(target.plugin)
                result = one.notify(body=message.body, title=message.title,
                                    body_format=NotifyFormat(message.body_format),
                                    notify_type=NotifyType(message.notify_type))
            if result:
                return Attempt(ok=True)
            logged = log.getvalue()
            why = _reasons(logged, target.secrets) or "apprise reported a failure without a reason"
            answer, permanent = _server_answer(logged)
            if answer:
                why += f" ({_scrub(answer, target.secrets)})"
            return Attempt(ok=False, error=why, permanent=permanent)
        except Exception as exc:  # apprise should not raise; a delivery failure must never escape
            return Attempt(ok=False, error=_scrub(f"{type(exc).__name__}: {exc}", target.secrets))

    @property
    def destinations(self) -> list[str]:
        """The masked URL of every configured destination, in order."""
        return [t.masked for t in self._targets]

    def routes(self, tag: str | None) -> list[str]:
        """The destinations (masked URLs) a message tagged tag goes to (see the module doc)."""
        return [t.masked for t in self._targets if t.wants(tag)]

    def send_to(self, destination: str, message: Message) -> Attempt:
        """Deliver message to the one destination (a masked URL of .destinations), whatever its tag says."""
        for target in self._targets:
            if target.masked == destination:
                return self._attempt(target, message)
        raise KeyError(f"no destination {destination} is configured")

    def send(self, message: Message, skip: Iterable[str] = ()) -> Delivery:
        """Deliver message to every URL its tag routes to (see the module doc); never raises on a
        delivery failure. skip: masked URLs that already have it (from an earlier partial Delivery's
        delivered_to), so a retry does not send it twice to the ones that worked.

        ok is True when no routed URL failed, including when no URL takes this tag (nobody asked for it:
        delivered_to is then empty) or every routed URL is in skip.
        """
        skip = set(skip)
        delivered, failed, errors = [], [], []
        for target in self._targets:
            if not target.wants(message.tag) or target.masked in skip:
                continue
            why = self._deliver(target, message)
            if why is None:
                delivered.append(target.masked)
            else:
                failed.append(target.masked)
                errors.append(f"{target.masked}: {why}")
        return Delivery(ok=not failed, error="; ".join(errors) or None, delivered_to=delivered, failed=failed)


def send_test(notifier: Notifier) -> list[tuple[str, bool, str | None]]:
    """A test notification to every configured URL separately (tags ignored): (masked URL, ok, error)."""
    results = []
    for target in notifier._targets:
        tags = ", ".join(sorted(target.tags)) or "none (receives bidders and deadlines)"
        message = Message(
            title="dealwatch: test notification",
            body=(f"This is a test from dealwatch. If you read it, alerts can reach you here.\n\n"
                  f"Destination: {target.masked}\n\nTags: {tags}"),
            body_format="text", tag=None)
        why = notifier._deliver(target, message)
        results.append((target.masked, why is None, why))
    return results
