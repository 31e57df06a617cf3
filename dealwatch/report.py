"""The report: one static HTML page about the deal so far, readable in any browser without a server.

    gather(warehouse) -> ReportData            one short read-only connection
    timeline_png(data, path, w, h) -> bytes    bidders' first appearance and deadlines on one time axis
    render_html(data, png_bytes) -> str        the page, with the chart embedded as a data: URL
    write_report(warehouse, html, png)         all three, each file written to a temp name and renamed

Everything that came from the web (titles, sources, evidence, bidder names, URLs) is HTML-escaped, and
only http(s) URLs become links. The page carries a Content-Security-Policy that allows no script and no
request at all: the chart is inline, the styles are inline.
"""
from __future__ import annotations

import base64
import html
import io
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from dealwatch.queries import saved_query
from dealwatch.warehouse import Warehouse, WarehouseError

DEFAULT_HTML = "dealwatch-report.html"
DEFAULT_PNG = "dealwatch-timeline.png"
CHART_WIDTH_PX = 1200
CHART_DPI = 100
MAX_CHART_BIDDERS = 40
AXES = (0.18, 0.1, 0.79, 0.72)          # the plot's left, bottom, width, height as fractions of the figure
HORIZON = timedelta(days=730)         # the axis ends at most this far after the last bidder, today
LABEL_GAP_PX = 9                      # deadline labels closer than this to the previous one are left out


@dataclass(slots=True)
class ReportData:
    """What the report shows, as plain rows (dicts keyed by column name)."""

    generated_at: datetime
    today: date
    warehouse: str
    bidders: list[dict[str, Any]] = field(default_factory=list)     # the bidders view, by first_seen
    deadlines: list[dict[str, Any]] = field(default_factory=list)   # upcoming (soonest first), then past (latest first)
    recent: list[dict[str, Any]] = field(default_factory=list)      # saved query recent_relevant
    totals: dict[str, int] = field(default_factory=dict)
    target: str = ""                  # the watched target's label (the profile's [target] label): the heading
    description: str = ""             # the profile's description, under the heading


def _records(con, sql: str, params: Any = None) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params or [])
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def gather(warehouse: Warehouse) -> ReportData:
    """Read what the report needs in one read-only connection."""
    with warehouse.connect(read_only=True) as con:
        views = {name for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'VIEW'").fetchall()}
        if not {"bidders", "deadlines", "fact_articles"} <= views:
            raise WarehouseError(f"the warehouse {warehouse.path} predates the views the report reads (schema "
                                 f"version 2): run a cycle (`dealwatch run`) once, it migrates the schema")
        today = con.execute("SELECT current_date").fetchone()[0]
        bidders = _records(con, "SELECT * FROM bidders ORDER BY first_seen, name")
        deadlines = _records(
            con, "SELECT * FROM deadlines ORDER BY status = 'past', "
                 "CASE WHEN status = 'past' THEN -days_left ELSE days_left END, date")
        recent = _records(con, saved_query("recent_relevant").sql)
        [totals] = _records(con, """
            SELECT (SELECT count(*) FROM articles)                        AS articles,
                   (SELECT count(*) FROM articles WHERE relevant)         AS relevant,
                   (SELECT count(*) FROM facts)                           AS facts,
                   (SELECT count(*) FROM alerts)                          AS alerts,
                   (SELECT count(*) FROM alerts WHERE status = 'sent')    AS alerts_sent""")
    return ReportData(generated_at=datetime.now(UTC).replace(microsecond=0), today=today,
                      warehouse=str(warehouse.path), bidders=bidders, deadlines=deadlines, recent=recent,
                      totals={k: int(v or 0) for k, v in totals.items()})


# -- the chart ------------------------------------------------------------------------------------

def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None


def default_height_px(data: ReportData) -> int:
    return max(360, 140 + 18 * min(len(data.bidders), MAX_CHART_BIDDERS))


def timeline_png(data: ReportData, path: str | Path | None = None, width_px: int = CHART_WIDTH_PX,
                 height_px: int | None = None) -> bytes:
    """The timeline chart as PNG bytes of exactly width_px x height_px (also written to `path` if given).

    One row per bidder: a dot at its first appearance, a line to its last mention. Every deadline is a
    vertical line across all rows, red while upcoming, grey once past; a blue line marks today.
    Rendered with matplotlib's Agg canvas: no display, no pyplot state.
    """
    from matplotlib import dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    height_px = height_px or default_height_px(data)
    fig = Figure(figsize=(width_px / CHART_DPI, height_px / CHART_DPI), dpi=CHART_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes(AXES)

    bidders = [b for b in data.bidders if _day(b.get("first_seen"))]
    if len(bidders) > MAX_CHART_BIDDERS:  # the most recently active ones
        bidders = sorted(sorted(bidders, key=lambda b: _day(b.get("last_seen")) or date.min)[-MAX_CHART_BIDDERS:],
                         key=lambda b: (_day(b["first_seen"]), b["name"]))
    deadlines = sorted((d for d in data.deadlines if _day(d.get("date"))), key=lambda d: _day(d["date"]))
    days = [data.today] + [_day(b["first_seen"]) for b in bidders] + [_day(b.get("last_seen")) or
                                                                       _day(b["first_seen"]) for b in bidders]
    # a deadline years beyond everything else (a typo in an article, a far-off date) must not squash the
    # chart: the axis ends HORIZON after the rest, and such deadlines are marked at its right edge
    horizon = max(days) + HORIZON
    days += [min(_day(d["date"]), horizon) for d in deadlines]
    start, end = min(days), max(days)
    margin = max(timedelta(days=10), (end - start) * 0.02)
    ax.set_xlim(start - margin, end + margin)
    plot_px = width_px * AXES[2]
    px_per_day = plot_px / max(1, (end - start + 2 * margin).days)

    rows = list(range(len(bidders), 0, -1))
    for y, bidder in zip(rows, bidders, strict=True):
        first, last = _day(bidder["first_seen"]), _day(bidder.get("last_seen")) or _day(bidder["first_seen"])
        ax.plot([first, last], [y, y], color="#7a9cc6", linewidth=1.5, zorder=2)
        ax.plot([first], [y], "o", color="#1f4e8c", markersize=5, zorder=3)
    ax.set_yticks(rows, [str(b["name"]) for b in bidders], fontsize=7)
    ax.set_ylim(0, len(bidders) + 1)

    last_label_x = None
    for deadline in deadlines:
        day = _day(deadline["date"])
        shown = min(day, horizon)
        upcoming = deadline.get("status") == "upcoming"
        color = "#c0392b" if upcoming else "#9a9a9a"
        ax.axvline(shown, color=color, linestyle="--" if shown == day else ":", linewidth=1,
                   alpha=0.9 if upcoming else 0.6, zorder=1)
        x = (shown - start).days * px_per_day
        if last_label_x is not None and x - last_label_x < LABEL_GAP_PX and not upcoming:
            continue  # too close to the previous label to be read: the table has it
        last_label_x = x
        ax.annotate(day.isoformat() + (" →" if shown != day else ""), (shown, 1.0),
                    xycoords=("data", "axes fraction"), xytext=(0, 3), textcoords="offset points", rotation=90,
                    fontsize=6, ha="center", va="bottom", color="#c0392b" if upcoming else "#666666")
    ax.axvline(data.today, color="#2471a3", linewidth=1.2, zorder=1)
    ax.annotate("today", (data.today, 0.0), xycoords=("data", "axes fraction"), xytext=(-2, 2),
                textcoords="offset points", fontsize=7, color="#2471a3", ha="right")

    if not bidders and not deadlines:
        ax.text(0.5, 0.5, "No bidders or deadlines yet", transform=ax.transAxes, ha="center", va="center",
                fontsize=12, color="#666666")
        ax.set_yticks([])
    locator = mdates.AutoDateLocator(minticks=4, maxticks=12)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.tick_params(axis="x", labelsize=7)
    ax.grid(axis="y", color="#eeeeee", linewidth=0.5)
    fig.suptitle("Bidders (dot: first seen, line: until last mention) and deadlines (dashed: red upcoming, "
                 "grey past)", fontsize=9, x=0.02, ha="left")

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=CHART_DPI)
    png = buffer.getvalue()
    if path is not None:
        _write_atomic(Path(path), png)
    return png


# -- the page -------------------------------------------------------------------------------------

def _e(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date() if value.time() == datetime.min.time() else value
    return html.escape(str(value), quote=True)


def _link(url: Any, text: Any = None) -> str:
    """An <a> for an http(s) URL; anything else (javascript:, data:, ...) only as escaped text."""
    label = _e(text if text not in (None, "") else url)
    if isinstance(url, str) and url.lower().startswith(("http://", "https://")):
        return f'<a href="{_e(url)}" rel="noopener noreferrer nofollow">{label}</a>'
    return label


def _table(headers: list[str], rows: list[list[str]], empty: str, row_classes: list[str] | None = None) -> str:
    if not rows:
        return f'<p class="empty">{_e(empty)}</p>'
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        css = f' class="{_e(row_classes[i])}"' if row_classes and row_classes[i] else ""
        body.append(f"<tr{css}>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>\n" + "\n".join(body) + "\n</tbody></table>"


STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto; max-width: 1250px;
       padding: 0 1em; color: #222; background: #fff; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
.meta { color: #666; font-size: 0.9em; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; }
th, td { text-align: left; vertical-align: top; padding: 0.3em 0.6em; border-bottom: 1px solid #eee; }
th { background: #f4f6f8; } td:not(:last-child) { white-space: nowrap; }
tr.upcoming td { background: #fdf0ee; } tr.past td { color: #777; }
img.timeline { max-width: 100%; height: auto; border: 1px solid #eee; }
ul.articles li { margin: 0.4em 0; } .empty { color: #888; font-style: italic; }
"""


def render_html(data: ReportData, png_bytes: bytes | None) -> str:
    """The whole page as one string; the chart (if any) inline as a base64 data: URL."""
    t = data.totals
    bidders = _table(
        ["Bidder", "First seen", "Last seen", "Articles", "Sources", "First evidence"],
        [[_e(b["name"]), _e(b["first_seen"]), _e(b["last_seen"]), f'{_e(b["mentions"])}', _e(b["sources"]),
          _e(b["first_evidence"]) + (f' <span class="meta">({_link(b["first_article_url"], "article")})</span>'
                                     if b.get("first_article_url") else "")]
         for b in data.bidders],
        "No bidder named yet.")
    deadlines = _table(
        ["Date", "Status", "Days left", "Kind", "First seen", "Articles", "Evidence"],
        [[_e(d["date"]), _e(d["status"]), _e(d["days_left"]), _e(d["kind"]), _e(d["first_seen"]),
          _e(d["mentions"]),
          _e(d["evidence"]) + (f' <span class="meta">({_link(d["first_article_url"], "article")})</span>'
                               if d.get("first_article_url") else "")]
         for d in data.deadlines],
        "No deadline named yet.", [str(d.get("status") or "") for d in data.deadlines])
    if png_bytes:
        chart = (f'<img class="timeline" alt="Timeline of bidders and deadlines" '
                 f'src="data:image/png;base64,{base64.b64encode(png_bytes).decode("ascii")}">')
    else:
        chart = '<p class="empty">No chart.</p>'
    items = []
    for a in data.recent:
        facts = "; ".join(part for part in (
            f'bidders: {_e(a.get("bidders"))}' if a.get("bidders") else "",
            f'deadlines: {_e(a.get("deadlines"))}' if a.get("deadlines") else "") if part)
        items.append(f'<li><span class="meta">{_e(a.get("day"))} · {_e(a.get("source"))}</span><br>'
                     f'{_link(a.get("url"), a.get("title") or a.get("url"))}'
                     + (f'<br><span class="meta">{facts}</span>' if facts else "") + "</li>")
    recent = ('<ul class="articles">\n' + "\n".join(items) + "\n</ul>") if items else \
        '<p class="empty">No relevant article yet.</p>'
    upcoming = sum(1 for d in data.deadlines if d.get("status") == "upcoming")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>dealwatch report{": " + _e(data.target) if data.target else ""}, {_e(data.today)}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>{"dealwatch: " + _e(data.target) if data.target else "dealwatch report"}</h1>
{f'<p>{_e(data.description)}</p>' if data.description else ""}
<p class="meta">Generated {_e(data.generated_at.strftime("%Y-%m-%d %H:%M UTC"))} from {_e(data.warehouse)}:
{t.get("articles", 0)} articles, {t.get("relevant", 0)} relevant, {t.get("facts", 0)} facts,
{t.get("alerts", 0)} alerts ({t.get("alerts_sent", 0)} sent).</p>

<h2 id="bidders">Bidders ({len(data.bidders)})</h2>
{bidders}

<h2 id="deadlines">Deadlines ({upcoming} upcoming, {len(data.deadlines) - upcoming} past)</h2>
{deadlines}

<h2 id="timeline">Timeline</h2>
{chart}

<h2 id="recent">Recent relevant articles</h2>
{recent}
</body>
</html>
"""


def _write_atomic(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(content)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_report(warehouse: Warehouse, html_path: str | Path = DEFAULT_HTML,
                 png_path: str | Path | None = None, target: str = "",
                 description: str = "") -> tuple[ReportData, Path, Path]:
    """Gather, draw and write the page and the chart (default: dealwatch-timeline.png beside the page).
    target, description: the watched target's label and the profile's description, for the heading."""
    html_path = Path(html_path)
    png_path = Path(png_path) if png_path else html_path.with_name(DEFAULT_PNG)
    data = gather(warehouse)
    data.target, data.description = target, description
    png = timeline_png(data, png_path)
    _write_atomic(html_path, render_html(data, png).encode("utf-8"))
    return data, html_path, png_path
