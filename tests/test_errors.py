"""One error hierarchy (dealwatch/errors.py): the tree drawn in its docstring is the classes' tree, no module
defines an exception class of its own, a library caller catches every user error with `except DealwatchError`,
and the command line turns each into one line."""
from __future__ import annotations

import ast
import builtins
import re
from datetime import date
from pathlib import Path

import pytest

from dealwatch import cli, errors
from dealwatch.errors import DealwatchError

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("dealwatch", "flows", "deployments")
_TREE_LINE = re.compile(r"^(?P<indent>[│ ]*(?:[├└]── )?)(?P<name>[A-Z]\w*)(?:\s{2,}.*)?$")


def drawn_tree() -> dict[str, str | None]:
    """{class name: its parent's name} as drawn in dealwatch/errors.py's docstring (None for the root)."""
    lines = errors.__doc__.splitlines()
    start = lines.index("DealwatchError")
    parents: dict[str, str | None] = {}
    stack: list[str] = []   # the names on the path to the current line, one per depth
    for line in lines[start:]:
        if not line.strip():
            break
        match = _TREE_LINE.match(line)
        assert match, f"a line of the drawn tree that is not 'prefix ClassName  comment': {line!r}"
        depth = len(match["indent"]) // 4
        del stack[depth:]
        parents[match["name"]] = stack[-1] if stack else None
        stack.append(match["name"])
    return parents


def defined_tree() -> dict[str, str | None]:
    """{class name: its parent within the hierarchy} for every exception class errors.py defines."""
    tree = {}
    for name, value in vars(errors).items():
        if isinstance(value, type) and issubclass(value, BaseException) and value.__module__ == errors.__name__:
            bases = [b for b in value.__bases__ if issubclass(b, DealwatchError)]
            tree[name] = bases[0].__name__ if bases else None
    return tree


def test_the_drawn_tree_is_the_classes_tree():
    drawn, defined = drawn_tree(), defined_tree()
    assert len(drawn) >= 30   # the whole tree was read, not just its first lines
    assert drawn == defined
    assert sorted(errors.__all__) == sorted(defined)
    assert all(issubclass(getattr(errors, name), DealwatchError) for name in defined)


def _exception_names() -> set[str]:
    names = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)}
    return names | set(errors.__all__)


def test_no_module_defines_an_exception_outside_errors_py():
    """A new exception class goes into dealwatch/errors.py and its tree (private control-flow ones that never
    leave their module, named _Like_this, excepted)."""
    exception_names = _exception_names()
    stray = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "dealwatch" / "errors.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.ClassDef) or node.name.startswith("_"):
                    continue
                bases = {b.id if isinstance(b, ast.Name) else b.attr for b in node.bases
                         if isinstance(b, ast.Name | ast.Attribute)}
                if bases & exception_names:
                    stray.append(f"{path.relative_to(ROOT)}: class {node.name}")
    assert not stray, ("move these into dealwatch/errors.py, under the closest DealwatchError, draw them in its "
                       f"docstring's tree and import them where they were: {stray}")


def test_the_old_import_paths_still_work():
    from dealwatch import alerts, cluster, config, extract, fetch, learned, profile, queries, urls, warehouse
    from flows import backfill
    pairs = [(alerts, "NotifyConfigError"), (cluster, "ClusterUnreachable"), (cluster, "ClusterLost"),
             (config, "ConfigError"), (extract, "ExtractionError"), (fetch, "FetchError"), (fetch, "EmptyBody"),
             (learned, "ModelsError"), (profile, "ProfileError"), (queries, "QueryError"), (urls, "UnsafeURL"),
             (warehouse, "WarehouseError"), (warehouse, "CycleRunning"), (backfill, "BackfillInputError"),
             (cli, "UsageError")]
    for module, name in pairs:
        assert getattr(module, name) is getattr(errors, name), (module.__name__, name)


def test_a_library_caller_catches_every_user_error_with_one_except(tmp_path):
    """Real calls with real bad input, each caught by `except DealwatchError`, each the class named for it."""
    from dealwatch.alerts import Notifier
    from dealwatch.config import load_config
    from dealwatch.extract import extract_article
    from dealwatch.learned import load_models
    from dealwatch.model import FeedItem, Page
    from dealwatch.profile import load_profile
    from dealwatch.queries import run_query, saved_query
    from dealwatch.urls import check_article_url
    from dealwatch.warehouse import Warehouse
    from flows.backfill import read_source

    bad_toml = tmp_path / "dealwatch.toml"
    bad_toml.write_text("feeds = [unquoted\n")
    bad_profile = tmp_path / "profile.toml"
    bad_profile.write_text("[target]\nnames = 3\n")
    bad_weights = tmp_path / "weights.json"
    bad_weights.write_text("{not json")
    not_duckdb = tmp_path / "warehouse.duckdb"
    not_duckdb.write_bytes(b"this is not a DuckDB file" * 100)
    empty_page = Page(url="https://example.org/a", final_url="https://example.org/a", status=200,
                      content_type="text/html", body=b"")

    warehouse = Warehouse(tmp_path / "good.duckdb")
    warehouse.migrate()
    calls = [
        ("ConfigError", lambda: load_config(bad_toml)),
        ("ProfileError", lambda: load_profile(bad_profile)),
        ("ModelsError", lambda: load_models(bad_weights)),
        ("NotifyConfigError", lambda: Notifier(["no-such-scheme://x"])),
        ("QueryError", lambda: saved_query("no_such_saved_query")),
        ("QueryError", lambda: run_query(warehouse, "SELEC name FROM bidders")),
        ("BackfillInputError", lambda: read_source(tmp_path / "missing.txt")),
        ("WarehouseError", lambda: Warehouse(not_duckdb, lock_timeout=1).migrate()),
        ("UnsafeURL", lambda: check_article_url("file:///etc/passwd", "")),
        ("ExtractionError", lambda: extract_article(empty_page, FeedItem(feed_url="", link=empty_page.url),
                                                    date.today())),
    ]
    for expected, call in calls:
        try:
            call()
        except DealwatchError as e:
            assert isinstance(e, getattr(errors, expected)), (expected, repr(e))
            assert str(e).strip() and "\n" not in str(e).strip(), (expected, str(e))
        else:
            pytest.fail(f"{expected}: nothing raised")


def test_the_command_line_turns_a_dealwatch_error_into_one_line(tmp_path, capsys):
    status = cli.main(["sql", "--db", str(tmp_path / "w.duckdb"), "--saved", "no_such_saved_query"])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("dealwatch: error: ") and err.count("\n") == 1, err
    assert "no_such_saved_query" in err


def test_an_unexpected_error_is_one_line_too_and_debug_shows_it(tmp_path, capsys, monkeypatch):
    """Anything not a DealwatchError: one line and exit status 1; --debug lets the traceback through."""
    def broken(args):
        raise RuntimeError("something dealwatch did not expect")

    monkeypatch.setattr(cli, "cmd_feeds", broken)   # build_parser binds cmd_feeds when main() runs
    assert cli.main(["feeds", "--db", str(tmp_path / "w.duckdb")]) == 1
    err = capsys.readouterr().err
    assert err == ("dealwatch: failed: RuntimeError: something dealwatch did not expect "
                   "(run with --debug for the traceback)\n")
    with pytest.raises(RuntimeError):
        cli.main(["--debug", "feeds", "--db", str(tmp_path / "w.duckdb")])
