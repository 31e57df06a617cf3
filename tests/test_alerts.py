"""The notification edge, against real receivers on loopback: an SMTP server and an HTTP webhook."""
from __future__ import annotations

import re
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from dealwatch.alerts import (Delivery, Message, Notifier, NotifyConfigError, compose, compose_digest,
                              masked, plan_messages, send_test)
from dealwatch.model import Alert
from paths import SHARED

sys.path.insert(0, str(SHARED / "eval"))
try:  # the harness's own readers of notifications, when it is around
    from score import CANONICAL_BIDDERS, dates_in, names_in  # type: ignore
except Exception:  # pragma: no cover - a tiny re-implementation of the same textual checks
    CANONICAL_BIDDERS = ("Microsoft", "Walmart", "Oracle", "Amazon", "Blackstone", "Perplexity AI")

    def _words(text):
        return " " + " ".join(re.findall(r"[^\W_]+", text.casefold())) + " "

    def names_in(text, names):
        return {n.casefold() for n in names if _words(n) in _words(text)}

    def dates_in(text):
        found = set()
        for m in re.finditer(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)", text):
            found.add(date(int(m[1]), int(m[2]), int(m[3])))
        return found

TODAY = date(2025, 3, 24)
URL = "https://news.example.com/a/tt-42.html"


def deadline(value="2025-04-05", **detail) -> Alert:
    return Alert(id=1, kind="deadline", value=value,
                 evidence="The White House extended the deadline by 75 days to April 5, 2025.",
                 article_url=URL, article_title="TikTok gets more time", source="Reuters",
                 published=date(2025, 1, 20), detail=detail)


def bidder(name="Amazon", **kw) -> Alert:
    fields = dict(id=2, kind="bidder", value=name, evidence=f"{name} has made a last-minute bid for TikTok.",
                  article_url="https://news.example.com/a/tt-43.html", article_title=f"{name} bids",
                  source="AP", published=date(2025, 4, 2), detail={"role": "bidder"})
    fields.update(kw)
    return Alert(**fields)


# -- composing -------------------------------------------------------------------------------------

def test_deadline_message_names_only_its_date_and_says_what_and_when():
    m = compose(deadline(kind="extension", replaces="2025-01-19"), TODAY)
    assert m.title == "New TikTok US deadline: 2025-04-05 (end of the extension, in 12 days)"
    assert dates_in(m.title) == {date(2025, 4, 5)} and not names_in(m.title, CANONICAL_BIDDERS)
    assert m.tag == "deadline" and m.body_format == "markdown"
    assert "Saturday, 5 April 2025" in m.body and "in 12 days" in m.body
    assert "replaces Sunday, 19 January 2025 (2025-01-19)" in m.body
    assert "“The White House extended the deadline by 75 days to April 5, 2025.”" in m.body
    assert f"<{URL}>" in m.body and "Reuters" in m.body and "2025-01-20" in m.body


def test_deadline_in_the_past_and_near():
    assert "passed 3 days ago" in compose(deadline("2025-03-21"), TODAY).title
    assert "tomorrow" in compose(deadline("2025-03-25"), TODAY).title
    assert "today" in compose(deadline("2025-03-24", kind="ban"), TODAY).title
    assert "(the ban takes effect, today)" in compose(deadline("2025-03-24", kind="ban"), TODAY).title
    odd = compose(deadline("sometime in spring"), TODAY)    # unreadable value: no crash, no invented date
    assert "sometime in spring" in odd.title and not dates_in(odd.title)


def test_bidder_message_names_only_its_bidder():
    m = compose(bidder("Oracle", evidence="Oracle joined Microsoft and Walmart in the race."), TODAY)
    assert m.title == "New bidder for TikTok US: Oracle"
    assert len(names_in(m.title, CANONICAL_BIDDERS)) == 1 and not dates_in(m.title)
    assert m.tag == "bidder" and "Microsoft and Walmart" in m.body


def test_markdown_and_html_escaping_of_hostile_web_text():
    hostile = bidder(article_title="*Big* news [click](javascript:alert(1)) <script>alert(2)</script>",
                     evidence="Amazon <img src=x onerror=alert(3)> bid **now**", article_url="javascript:alert(4)")
    md = compose(hostile, TODAY).body
    assert "<script>" not in md and "<img" not in md
    assert "&lt;script&gt;" in md and r"\*Big\*" in md and r"\[click\]" in md and r"\*\*now\*\*" in md
    assert not re.search(r"(?<!\\)\]\(javascript:", md) and "<javascript:" not in md   # no live link
    # apprise turns this markdown into the HTML of an email: nothing executable survives
    from apprise.conversion import markdown_to_html
    rendered = markdown_to_html(md)
    assert "<script" not in rendered and "<img" not in rendered and 'href="javascript' not in rendered
    assert "*Big*" in rendered                                   # shown literally, not as emphasis
    h = compose(hostile, TODAY, body_format="html").body
    assert "<script>" not in h and "&lt;script&gt;" in h and 'href="javascript' not in h
    t = compose(hostile, TODAY, body_format="text").body
    assert "<script>alert(2)</script>" in t                      # plain text stays as the web wrote it


def test_digest_title_names_nothing_body_names_everything():
    alerts = [bidder(n, id=i) for i, n in enumerate(["Microsoft", "Oracle", "Walmart", "Perplexity AI"])]
    alerts += [deadline(d, kind="sale") for d in ("2025-06-19", "2025-04-05", "2025-09-17")]
    m = compose_digest(alerts, TODAY)
    assert m.title == "dealwatch: 4 new bidders and 3 new deadlines for TikTok US"
    assert not names_in(m.title, CANONICAL_BIDDERS) and not dates_in(m.title)
    assert names_in(m.body, CANONICAL_BIDDERS) == names_in(" ".join(a.value for a in alerts[:4]),
                                                           CANONICAL_BIDDERS)
    assert dates_in(m.body) >= {date(2025, 4, 5), date(2025, 6, 19), date(2025, 9, 17)}
    assert m.body.index("Microsoft") < m.body.index("2025-04-05") < m.body.index("2025-06-19")
    assert m.tag is None and m.body.count(URL) == 3


def test_plan_individual_up_to_threshold_then_digest_per_tag():
    few = [bidder("Oracle"), deadline()]
    plan = plan_messages(few, TODAY, digest_threshold=2)
    assert [m.title for m, _ in plan] == [compose(a, TODAY).title for a in few]
    many = [bidder(f"Bidder {i}", id=i) for i in range(3)] + [deadline()]
    plan = plan_messages(many, TODAY, digest_threshold=2)
    assert len(plan) == 1 and plan[0][1] == many and plan[0][0].tag is None
    plan = plan_messages(many, TODAY, digest_threshold=2, by_tag=True)
    assert [(m.tag, len(carried)) for m, carried in plan] == [("bidder", 3), ("deadline", 1)]
    assert plan[0][0].title.startswith("dealwatch: 3 new bidders") and plan[1][0].title.startswith("New TikTok")


def test_each_alert_names_its_own_target_and_targets_never_share_a_digest():
    saxonia = [bidder(f"Bidder {i}", id=i, target_label="Saxonia Wafer") for i in range(3)]
    older = deadline()   # raised before labels were stored: the deliverer's target
    plan = plan_messages([*saxonia, older], TODAY, digest_threshold=2, target="TikTok US")
    assert [(m.title, len(carried)) for m, carried in plan] == [
        ("dealwatch: 3 new bidders for Saxonia Wafer", 3),
        ("New TikTok US deadline: 2025-04-05 (in 12 days)", 1)]
    plan = plan_messages([*saxonia, older], TODAY, digest_threshold=2, target="Saxonia Wafer")
    assert [(m.title, len(carried)) for m, carried in plan] == [
        ("dealwatch: 3 new bidders and 1 new deadline for Saxonia Wafer", 4)]
    plan = plan_messages([saxonia[0], bidder("Oracle", id=9)], TODAY, digest_threshold=1)
    assert [(m.title, [a.id for a in carried]) for m, carried in plan] == [
        ("New bidder for Saxonia Wafer: Bidder 0", [0]), ("New bidder for TikTok US: Oracle", [9])]


# -- delivering ------------------------------------------------------------------------------------

def test_email_is_received_with_subject_and_body(smtp):
    notifier = Notifier([smtp.url()])
    m = compose(deadline(kind="sale"), TODAY)
    d = notifier.send(m)
    assert d == Delivery(ok=True, error=None, delivered_to=[masked(smtp.url())], failed=[])
    (sender, rcpts, msg), = smtp.messages
    assert rcpts == ["me@example.org"] and "bot@example.com" in sender
    assert msg["Subject"] == "New TikTok US deadline: 2025-04-05 (deadline for the sale, in 12 days)"
    text = smtp.text_of(msg)
    assert "in 12 days" in text and "extended the deadline by 75 days" in text and URL in text
    assert "<b>Saturday, 5 April 2025</b>" in text or "<strong>Saturday, 5 April 2025</strong>" in text


def test_json_webhook_receives_title_and_body(webhook):
    d = Notifier([webhook.url("json")]).send(compose(bidder("Amazon"), TODAY))
    assert d.ok and d.delivered_to == [masked(webhook.url("json"))]
    (payload,) = webhook.payloads
    assert payload["title"] == "New bidder for TikTok US: Amazon"
    assert "last-minute bid" in payload["message"] and "tt-43.html" in payload["message"]
    assert payload["type"] == "info"


def test_form_webhook(webhook):
    assert Notifier([webhook.url("form", "/form")]).send(compose(deadline(), TODAY)).ok
    (req,) = webhook.requests
    assert req.path.startswith("/form") and req.data["title"].startswith("New TikTok US deadline: 2025-04-05")
    assert req.data["type"] == "warning"


def test_webhook_500_is_a_failed_delivery_not_an_exception(webhook):
    notifier = Notifier([webhook.url("json")])
    webhook.fail_next(1, 500)
    d = notifier.send(compose(bidder(), TODAY))
    assert not d.ok and d.delivered_to == [] and d.failed == [masked(webhook.url("json"))]
    assert "500" in d.error and masked(webhook.url("json")) in d.error
    assert notifier.send(compose(bidder(), TODAY)).ok and len(webhook.payloads) == 1   # the retry works


def test_smtp_down_for_a_cycle_then_up(smtp):
    notifier = Notifier([smtp.url()], min_interval=0)   # apprise waits 5.5 s between two emails otherwise
    smtp.stop()
    started = time.monotonic()
    d = notifier.send(compose(deadline(), TODAY))
    assert not d.ok and "127.0.0.1" in d.error and time.monotonic() - started < 10
    smtp.start()
    assert notifier.send(compose(deadline(), TODAY)).ok and len(smtp.messages) == 1


def test_partial_failure_retry_skips_the_urls_that_worked(smtp, webhook):
    notifier = Notifier([smtp.url(), webhook.url("json")])
    webhook.fail_next(1, 503)
    m = compose(deadline(), TODAY)
    first = notifier.send(m)
    assert not first.ok and first.delivered_to == [masked(smtp.url())] and "503" in first.error
    second = notifier.send(m, skip=first.delivered_to)
    assert second.ok and second.delivered_to == [masked(webhook.url("json"))]
    assert len(smtp.messages) == 1 and len(webhook.payloads) == 1          # nobody got it twice


def test_invalid_urls_raise_a_clear_error_without_secrets():
    secret = "Sup3rS3cretPw"
    for bad in (f"mailto://bob:{secret}@127.0.0.1:25?from=x@y.z",     # made-up domain: rejected by apprise
                f"discord://{secret}",                                  # webhook token missing
                f"nosuchscheme://bob:{secret}@host.example.com/{secret}",
                f"bob:{secret}@example.com"):
        with pytest.raises(NotifyConfigError) as info:
            Notifier([bad])
        message = str(info.value)
        assert secret not in message and secret[:6] not in message, message
        assert "invalid" in message and ("apprise" in message or "://" in message)
    with pytest.raises(NotifyConfigError, match="no notification URL"):
        Notifier([])


def test_masked_hides_passwords_and_tokens():
    assert masked("json://user:s3cretpw@127.0.0.1:9/hook").startswith("json://user:****@127.0.0.1:9/hook")
    token = "TIiajkdnlazkcOXrIdevi7FQ"
    assert token not in masked(f"slack://T1JJ3T3L2/A1BRTD4JD/{token}")
    assert "s3cretpw" not in masked("weird://u:s3cretpw@h.example.com/s3cretpw")


def test_delivery_error_does_not_leak_the_password(webhook):
    secret = "Pw0rdOfTheDay"
    url = f"json://alice:{secret}@127.0.0.1:{webhook.port}/hook"
    webhook.fail_next(1, 500)
    d = Notifier([url]).send(compose(bidder(), TODAY))
    assert not d.ok and secret not in (d.error or "") and secret not in " ".join(d.failed)
    assert webhook.requests == []


def test_tag_routing_with_an_apprise_yaml_config(tmp_path: Path, smtp, webhook):
    config = tmp_path / "apprise.yml"
    config.write_text(f"""version: 1
urls:
  - "{smtp.url()}":
      tag: deadline
  - "{webhook.url('json', '/chat')}":
      tag: bidder
  - "{webhook.url('json', '/everything')}"
""")
    notifier = Notifier(config_files=[config], min_interval=0)
    assert notifier.routes_by_tag and len(notifier) == 3
    assert notifier.send(compose(deadline(), TODAY)).ok
    assert notifier.send(compose(bidder("Walmart"), TODAY)).ok
    assert [msg["Subject"] for _, _, msg in smtp.messages] == [compose(deadline(), TODAY).title]
    by_path = {}
    for r in webhook.requests:
        by_path.setdefault(r.path, []).append(r.data["title"])
    assert by_path == {"/chat": ["New bidder for TikTok US: Walmart"],
                       "/everything": [compose(deadline(), TODAY).title, "New bidder for TikTok US: Walmart"]}
    # a digest per tag: the bidders' digest goes to chat only
    plan = plan_messages([bidder(f"B{i}", id=i) for i in range(3)], TODAY, 2, by_tag=notifier.routes_by_tag)
    (digest, _), = plan
    assert notifier.send(digest).ok and len(smtp.messages) == 1


def test_bad_config_file_is_reported(tmp_path: Path):
    with pytest.raises(NotifyConfigError, match="does not exist"):
        Notifier(config_files=[tmp_path / "missing.yml"])
    bad = tmp_path / "bad.yml"
    bad.write_text("version: 1\nurls:\n  - discord://\n")
    with pytest.raises(NotifyConfigError, match="bad.yml has errors"):
        Notifier(config_files=[bad])


def test_send_test_reports_each_url(smtp, webhook):
    notifier = Notifier([smtp.url(), webhook.url("json")])
    webhook.fail_next(1, 500)
    results = send_test(notifier)
    assert [(u, ok) for u, ok, _ in results] == [(masked(smtp.url()), True), (masked(webhook.url("json")), False)]
    assert "500" in results[1][2] and results[0][2] is None
    assert smtp.messages[0][2]["Subject"] == "dealwatch: test notification"


def test_message_is_plain_data():
    m = Message("t", "b")
    assert (m.body_format, m.tag, m.notify_type) == ("markdown", None, "info")


def test_apprise_email_throttle_is_kept_unless_overridden(smtp):
    """apprise spaces two messages to one email URL by 5.5 s; min_interval overrides it."""
    fast = Notifier([smtp.url()], min_interval=0)
    started = time.monotonic()
    assert fast.send(Message("one", "1")).ok and fast.send(Message("two", "2")).ok
    assert time.monotonic() - started < 2 and len(smtp.messages) == 2
    default = Notifier([smtp.url()])
    assert default._targets[0].plugin.request_rate_per_sec == pytest.approx(5.5)


def test_hostile_text_arrives_inert_in_a_real_email(smtp):
    hostile = bidder("Amazon <b>Inc</b>", article_title="[click](javascript:alert(1)) <script>alert(2)</script>",
                     evidence="Amazon <img src=x onerror=alert(3)> bid *now*")
    m = compose(hostile, TODAY)
    assert "<" not in m.title and "Amazon" in m.title
    assert Notifier([smtp.url()]).send(m).ok
    (_, _, msg), = smtp.messages
    html_part = msg.get_body(("html",)).get_content()
    assert "<script" not in html_part and "<img" not in html_part
    assert 'href="javascript' not in html_part and "&lt;script&gt;" in html_part
    assert 'href="https://news.example.com/a/tt-43.html"' in html_part


def test_the_same_url_twice_is_one_destination(webhook):
    notifier = Notifier([webhook.url("json"), webhook.url("json")])
    assert len(notifier) == 1
    assert notifier.send(compose(bidder(), TODAY)).ok and len(webhook.payloads) == 1
    assert Notifier(webhook.url("json")).targets == [(masked(webhook.url("json")), frozenset())]


def test_the_harness_reads_one_item_per_message_and_every_item_of_a_digest(webhook):
    """What the evaluation harness reads from a json:// receiver: each single message names exactly its
    item (even when its evidence names others), a digest names every item of the batch."""
    score = pytest.importorskip("score")
    gold = [{"relevant": True, "bidders": ["Oracle", "Microsoft"],
             "deadlines": [{"date": "2025-04-05", "tolerance_days": 1}, {"date": "2025-01-19"}]}]
    matcher = score.AlertMatcher(gold)
    batch = [bidder("Oracle", evidence="Oracle, like Microsoft in 2020, bid before January 19, 2025."),
             deadline("2025-04-05", kind="extension", replaces="2025-01-19")]
    notifier = Notifier([webhook.url("json")])
    for message, _ in plan_messages(batch, TODAY, digest_threshold=10):
        assert notifier.send(message).ok
    keys = [matcher.note_keys(p) for p in webhook.payloads]
    assert keys == [{("bidder", "oracle")}, {("deadline", date(2025, 4, 5))}]
    webhook.requests.clear()
    for message, _ in plan_messages(batch, TODAY, digest_threshold=1):
        assert notifier.send(message).ok
    (digest,) = webhook.payloads
    assert {("bidder", "oracle"), ("deadline", date(2025, 4, 5))} <= matcher.note_keys(digest)


def test_deadline_without_kind_and_with_expression():
    m = compose(deadline(expression="75 days after January 19"), TODAY)
    assert m.title == "New TikTok US deadline: 2025-04-05 (in 12 days)"
    assert "New deadline for TikTok US: **Saturday, 5 April 2025** (2025-04-05), in 12 days." in m.body
    assert "“75 days after January 19”" in m.body
    assert compose(deadline(kind="Approval"), TODAY).title.endswith("(deadline for approval, in 12 days)")
    assert compose(deadline(kind="vote 2025"), TODAY).title.endswith("(vote deadline, in 12 days)")


def test_text_config_with_tags(tmp_path: Path, webhook):
    config = tmp_path / "apprise.txt"
    config.write_text(f"deadline={webhook.url('json', '/deadlines')}\nbidder={webhook.url('json', '/bidders')}\n")
    notifier = Notifier(config_files=[str(config)])
    assert {tags for _, tags in notifier.targets} == {frozenset({"bidder"}), frozenset({"deadline"})}
    assert notifier.send(compose(deadline(), TODAY)).ok
    assert [r.path for r in webhook.requests] == ["/deadlines"]
    assert notifier.send(compose_digest([deadline(), bidder()], TODAY)).ok      # untagged: everywhere
    assert sorted(r.path for r in webhook.requests[1:]) == ["/bidders", "/deadlines"]


def test_no_secret_reaches_the_logs(caplog, webhook):
    secret = "L0gSecretValue"
    caplog.set_level("DEBUG")
    with pytest.raises(NotifyConfigError):
        Notifier([f"discord://{secret}"])
    url = f"json://bob:{secret}@127.0.0.1:{webhook.port}/hook"
    webhook.fail_next(1, 500)
    notifier = Notifier([url])
    assert not notifier.send(compose(bidder(), TODAY)).ok
    send_test(notifier)
    assert secret not in caplog.text and secret not in repr(notifier.targets)
    assert not [r for r in caplog.records if r.name.startswith("apprise")]
