"""The HTML report and its timeline chart, on a real warehouse built from the dev corpus gold
(tests/test_queries.py builds it), read back with html.parser and PIL, and opened in headless Chromium."""
from __future__ import annotations

import base64
import shutil
import struct
import subprocess
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image
from test_queries import (
    BASE,
    all_rows,
    build_gold_warehouse,
    expected_bidders,
    expected_deadlines,
    seen_day,
    url_of,
)

from dealwatch.cli import main
from dealwatch.report import (
    DEFAULT_PNG,
    ReportData,
    gather,
    render_html,
    timeline_png,
    write_report,
)
from dealwatch.warehouse import Warehouse

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def gold_warehouse(tmp_path_factory) -> Warehouse:
    return build_gold_warehouse(tmp_path_factory.mktemp("gold") / "warehouse.duckdb")


@pytest.fixture(scope="module")
def report(gold_warehouse, tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    data, html_path, png_path = write_report(gold_warehouse, folder / "report.html")
    return data, html_path, png_path


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, the first after the signature."""
    assert png[:8] == PNG_SIGNATURE
    assert png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


class Page(HTMLParser):
    """The parts of the report a reader sees: tables (by the section heading before them), links, images."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.heading = ""
        self.in_heading = False
        self.tables: dict[str, list[list[str]]] = {}
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.links: list[tuple[str, str]] = []
        self.link: list[str] | None = None
        self.href = ""
        self.images: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "h2":
            self.in_heading, self.heading = True, ""
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = []
        elif tag == "a":
            self.link, self.href = [], attrs.get("href", "")
        elif tag == "img":
            self.images.append(attrs.get("src", ""))

    def handle_endtag(self, tag):
        if tag == "h2":
            self.in_heading = False
        elif tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.tables.setdefault(self.heading.split(" (")[0], []).append(self.row)
            self.row = None
        elif tag == "a" and self.link is not None:
            self.links.append((self.href, "".join(self.link)))
            self.link = None

    def handle_data(self, data):
        self.text.append(data)
        if self.in_heading:
            self.heading += data
        if self.cell is not None:
            self.cell.append(data)
        if self.link is not None:
            self.link.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def test_report_lists_the_bidders_and_deadlines(report):
    _, html_path, _ = report
    page = parse(html_path.read_text(encoding="utf-8"))
    bidders = page.tables["Bidders"]
    assert bidders[0] == ["Bidder", "First seen", "Last seen", "Articles", "Sources", "First evidence"]
    expected = expected_bidders()
    assert sorted(row[0] for row in bidders[1:]) == sorted(expected)   # escaped markup reads back as text
    for name, first_seen, last_seen, mentions, sources, evidence in bidders[1:]:
        want = expected[name]
        assert (first_seen, last_seen, mentions, sources) == (
            want["first_seen"].isoformat(), want["last_seen"].isoformat(), str(want["mentions"]), str(want["sources"]))
        assert evidence.startswith(want["first_evidence"])
    deadlines = page.tables["Deadlines"]
    assert deadlines[0][:3] == ["Date", "Status", "Days left"]
    dates = [row[0] for row in deadlines[1:]]
    assert sorted(dates) == sorted(d.isoformat() for d in expected_deadlines())
    # upcoming first (soonest first), then the past ones, latest first
    assert deadlines[1][:2] == ["2999-12-31", "upcoming"]
    past = [row[0] for row in deadlines[1:] if row[1] == "past"]
    assert past == sorted(past, reverse=True) and len(past) == len(dates) - 1
    assert deadlines[1][6].startswith("closing of the sale <i>expected</i>")


def test_report_embeds_the_chart_and_writes_it_beside_the_page(report):
    _, html_path, png_path = report
    assert png_path == html_path.with_name(DEFAULT_PNG)
    page = parse(html_path.read_text(encoding="utf-8"))
    [src] = page.images
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix)
    embedded = base64.b64decode(src[len(prefix):])
    assert embedded == png_path.read_bytes()
    assert png_size(embedded)[0] == 1200


def test_report_links_recent_relevant_articles_and_escapes_the_web(report):
    data, html_path, _ = report
    html = html_path.read_text(encoding="utf-8")
    page = parse(html)
    assert "script" not in page.tags and "b" not in page.tags and "i" not in page.tags
    assert all(href.startswith(("http://", "https://")) for href, _ in page.links)
    titled = {text: href for href, text in page.links}
    assert titled['Acme <b>bids</b> & "wins"'] == f"{BASE}/future-deadline.html"
    assert titled["Undated Holdings weighs a bid"] == f"{BASE}/undated.html"
    recent = sorted((r for r in all_rows() if r["relevant"]), key=lambda r: (-seen_day(r).toordinal(), url_of(r)))[:20]
    assert [href for href, _ in page.links if _ != "article"] == [url_of(r) for r in recent]
    assert "Test &amp; &lt;Wire&gt;" in html
    assert len(data.recent) == 20


def test_links_only_for_web_addresses():
    data = ReportData(generated_at=datetime(2026, 1, 1, tzinfo=UTC), today=date(2026, 1, 1), warehouse="w",
                      recent=[{"day": date(2026, 1, 1), "source": "s", "title": "<img src=x onerror=alert(1)>",
                               "url": "javascript:alert(1)", "bidders": None, "deadlines": None}])
    page = parse(render_html(data, None))
    assert page.links == [] and page.images == []
    assert "<img src=x onerror=alert(1)>" in "".join(page.text)


def test_timeline_png_has_the_asked_pixel_size(report, tmp_path):
    data, _, _ = report
    path = tmp_path / "chart.png"
    png = timeline_png(data, path, 800, 300)
    assert png_size(png) == (800, 300) and path.read_bytes() == png
    image = Image.open(BytesIO(png))
    assert image.size == (800, 300)
    assert len(image.convert("RGB").getcolors(maxcolors=1 << 16) or [0] * 1000) > 10  # a drawing, not a blank


def test_report_of_an_empty_warehouse(tmp_path):
    warehouse = Warehouse(tmp_path / "empty.duckdb")
    warehouse.migrate()
    data, html_path, png_path = write_report(warehouse, tmp_path / "out" / "r.html", tmp_path / "chart.png")
    page = parse(html_path.read_text(encoding="utf-8"))
    assert "No bidder named yet." in "".join(page.text) and "No deadline named yet." in "".join(page.text)
    assert png_size(png_path.read_bytes())[0] == 1200
    assert data.bidders == [] and data.totals["articles"] == 0


def test_cli_report(gold_warehouse, tmp_path, capsys):
    html_path, png_path = tmp_path / "page.html", tmp_path / "pics" / "t.png"
    assert main(["report", "--db", str(gold_warehouse.path), "--html", str(html_path), "--png", str(png_path)]) == 0
    out = capsys.readouterr().out
    assert f"report written: {html_path}" in out and f"{len(expected_bidders())} bidders" in out
    assert png_size(png_path.read_bytes())[0] == 1200
    assert not [p for p in tmp_path.rglob(".*.tmp")]
    assert main(["report", "--db", str(tmp_path / "missing.duckdb"), "--html", str(html_path)]) == 2
    assert "no warehouse at" in capsys.readouterr().err


def test_gather_reads_the_views(gold_warehouse):
    data = gather(gold_warehouse)
    assert [b["name"] for b in data.bidders] == [b["name"] for b in sorted(
        expected_bidders().values(), key=lambda b: (b["first_seen"], b["name"]))]
    assert data.totals["articles"] == len(all_rows())


CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def chromium() -> str | None:
    return next((path for path in map(shutil.which, CHROMIUM_NAMES) if path), None)


def test_report_renders_in_headless_chromium(report, tmp_path):
    binary = chromium()
    if binary is None:
        pytest.skip(f"no Chromium binary on PATH (looked for {', '.join(CHROMIUM_NAMES)}): "
                    f"`apt-get install -y chromium` to run this test")
    _, html_path, _ = report
    shot = tmp_path / "shot.png"
    completed = subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,4000", "--hide-scrollbars",
         f"--screenshot={shot}", Path(html_path).resolve().as_uri()],
        check=False, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert shot.is_file(), f"chromium wrote no screenshot (exit {completed.returncode}): {completed.stderr[-2000:]}"
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 4000)
    colors = image.getcolors(maxcolors=1 << 20)
    assert colors is not None and len(colors) > 20, "the screenshot is blank"
    non_white = sum(n for n, rgb in colors if rgb != (255, 255, 255))
    assert non_white > 10_000
    # the embedded chart was drawn: its bidder dots' blue (#1f4e8c) is on the screen
    dots = sum(n for n, (r, g, b) in colors if abs(r - 0x1F) < 12 and abs(g - 0x4E) < 12 and abs(b - 0x8C) < 12)
    assert dots > 100, "the timeline chart does not show in the page"
    # and the upcoming deadline's highlighted row (#fdf0ee)
    assert any(rgb == (0xFD, 0xF0, 0xEE) for _, rgb in colors)


def test_report_of_a_warehouse_without_the_views_says_what_to_do(tmp_path, capsys):
    import duckdb

    from dealwatch.warehouse import migrations

    db = tmp_path / "v1.duckdb"
    with duckdb.connect(str(db)) as con:  # a warehouse made before migration 002
        con.execute(migrations()[0][1].read_text(encoding="utf-8"))
    assert main(["report", "--db", str(db), "--html", str(tmp_path / "r.html")]) == 2
    assert "predates the views" in capsys.readouterr().err
