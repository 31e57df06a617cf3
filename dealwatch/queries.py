"""Reading the warehouse for people: saved queries, their parameters, output formats, Parquet export.

Saved queries are the `*.sql` files of warehouse/queries (inside the installed package as
dealwatch/_warehouse/queries). Each starts with a `-- ` line that says what it shows. A query takes
parameters as DuckDB's named placeholders (`$bidder`) or numbered ones (`$1`); on the command line
they are given as `--param VALUE` (for $name: in the order the names first appear; for $1, $2: in
number order) or `--param NAME=VALUE`.

Everything here reads through `Warehouse.connect(read_only=True)`: a short read-only connection,
retried while a cycle holds the file, closed right after.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from dealwatch.warehouse import Warehouse

QUERIES_PACKAGE_DIR = "_warehouse/queries"
FORMATS = ("table", "csv", "json", "markdown")
TABLE_MAX_WIDTH = 60

_PLACEHOLDER = re.compile(r"(?<![\w$])\$([A-Za-z_]\w*|\d+)")
_COMMENTS_AND_STRINGS = re.compile(r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"", re.DOTALL)


from dealwatch.errors import QueryError  # noqa: E402  (re-exported)


# -- saved queries --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SavedQuery:
    name: str
    path: Path
    description: str
    sql: str

    @property
    def params(self) -> list[str]:
        return query_params(self.sql)


def queries_dir() -> Path:
    """warehouse/queries: inside the installed package, or beside it in a source checkout."""
    packaged = resources.files("dealwatch") / QUERIES_PACKAGE_DIR
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "warehouse" / "queries"


def _description(sql: str) -> str:
    for line in sql.splitlines():
        line = line.strip()
        if line.startswith("--"):
            return line.lstrip("-").strip()
        if line:
            break
    return ""


def saved_queries(directory: Path | None = None) -> list[SavedQuery]:
    """Every saved query, by name."""
    found = []
    for path in sorted((directory or queries_dir()).glob("*.sql")):
        sql = path.read_text(encoding="utf-8")
        found.append(SavedQuery(path.stem, path, _description(sql), sql))
    return found


def saved_query(name: str, directory: Path | None = None) -> SavedQuery:
    """The saved query NAME (with or without .sql); QueryError listing the available ones if unknown."""
    name = name.removesuffix(".sql")
    available = saved_queries(directory)
    for query in available:
        if query.name == name:
            return query
    names = ", ".join(q.name for q in available) or "none"
    raise QueryError(f"no saved query {name!r}; available: {names} (`dealwatch sql --saved` lists them)")


def query_params(sql: str) -> list[str]:
    """The placeholders of a query ('bidder' for $bidder, '1' for $1), in order of first appearance."""
    code = _COMMENTS_AND_STRINGS.sub(" ", sql)
    return list(dict.fromkeys(_PLACEHOLDER.findall(code)))


def bind_params(sql: str, given: Sequence[str]) -> dict[str, str] | list[str] | None:
    """The parameters for DuckDB from `--param` values: 'VALUE' (in order) or 'NAME=VALUE'."""
    wanted = query_params(sql)
    if not wanted:
        if given:
            raise QueryError(f"the query takes no parameters, but {len(given)} --param given")
        return None
    if all(n.isdigit() for n in wanted):
        wanted = sorted(wanted, key=int)  # --param values go to $1, $2, ... in that order
    named: dict[str, str] = {}
    positional: list[str] = []
    for value in given:
        name, sep, rest = value.partition("=")
        if sep and name.strip() in wanted and not name.strip().isdigit():
            named[name.strip()] = rest
        else:
            positional.append(value)
    for name in wanted:
        if name not in named and positional:
            named[name] = positional.pop(0)
    if positional:
        raise QueryError(f"too many --param values: the query takes {len(wanted)} "
                         f"({', '.join('$' + n for n in wanted)})")
    missing = [n for n in wanted if n not in named]
    if missing:
        raise QueryError("the query needs " + " ".join(f"--param {n}=VALUE" for n in missing)
                         + " (or the values in order: --param VALUE)")
    if all(n.isdigit() for n in wanted):
        return [named[n] for n in sorted(wanted, key=int)]
    if any(n.isdigit() for n in wanted):
        raise QueryError("the query mixes $1-style and $name-style parameters: use one kind")
    return named


def run_query(warehouse: Warehouse, sql: str, params: Sequence[str] = ()) -> tuple[list[str], list[tuple]]:
    """(columns, rows) of a read-only query with `--param` values bound; QueryError with DuckDB's first line
    when the query fails (a mistake in the query, not in dealwatch)."""
    try:
        return warehouse.query(sql, bind_params(sql, params))  # type: ignore[arg-type]
    except duckdb.Error as e:
        raise QueryError(f"the query failed: {str(e).strip().splitlines()[0]}") from e


# -- output formats -------------------------------------------------------------------------------

def plain(value: Any) -> Any:
    """A value as JSON has it: dates and times in ISO form, decimals as numbers, the rest as is or str."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return str(value)


def cell(value: Any) -> str:
    """A value as one line of text: '' for NULL, lists and structs as JSON."""
    if value is None:
        return ""
    return _text(value).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple | dict):
        return json.dumps(plain(value), ensure_ascii=False)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def format_table(columns: Sequence[str], rows: Sequence[tuple], max_width: int = TABLE_MAX_WIDTH) -> str:
    cells = [[cell(v) for v in row] for row in rows]
    widths = [min(max_width, max([len(c)] + [len(r[i]) for r in cells])) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    for row in cells:
        lines.append("  ".join((v if len(v) <= w else v[:w - 1] + "…").ljust(w)
                               for v, w in zip(row, widths, strict=True)).rstrip())
    lines.append(f"({len(rows)} row{'s' * (len(rows) != 1)})")
    return "\n".join(lines) + "\n"


def format_csv(columns: Sequence[str], rows: Sequence[tuple]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_text(v) for v in row])
    return out.getvalue()


def format_json(columns: Sequence[str], rows: Sequence[tuple]) -> str:
    """A JSON array with one object per row."""
    records = [{c: plain(v) for c, v in zip(columns, row, strict=True)} for row in rows]
    return json.dumps(records, ensure_ascii=False, indent=2) + "\n"


def format_markdown(columns: Sequence[str], rows: Sequence[tuple]) -> str:
    def md(text: str) -> str:
        return text.replace("\\", "\\\\").replace("|", "\\|")
    lines = ["| " + " | ".join(md(c) for c in columns) + " |",
             "| " + " | ".join("---" for _ in columns) + " |"]
    lines += ["| " + " | ".join(md(cell(v)) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


FORMATTERS = {"table": format_table, "csv": format_csv, "json": format_json, "markdown": format_markdown}


def format_result(columns: Sequence[str], rows: Sequence[tuple], fmt: str = "table") -> str:
    try:
        formatter = FORMATTERS[fmt]
    except KeyError:
        raise QueryError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}") from None
    return formatter(list(columns), list(rows))


def format_saved_list(queries: Sequence[SavedQuery]) -> str:
    lines = ["Saved queries (dealwatch sql --saved NAME [--param VALUE]):"]
    width = max((len(q.name) for q in queries), default=0)
    for q in queries:
        params = "".join(f" --param {p}" for p in q.params)
        lines.append(f"  {q.name.ljust(width)}  {q.description}{f'  [{params.strip()}]' if params else ''}")
    if not queries:
        lines.append(f"  (none in {queries_dir()})")
    return "\n".join(lines) + "\n"


# -- Parquet export -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Exported:
    name: str
    kind: str          # 'table' | 'view'
    rows: int
    path: Path


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def export_parquet(warehouse: Warehouse, directory: str | Path) -> list[Exported]:
    """Every table and view of the warehouse as DIR/NAME.parquet, each written to a temporary name in DIR
    and renamed over the old one, so a reader sees the previous file or the new one, never half a file."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise QueryError(f"cannot create the export folder {directory}: {e.strerror}") from e
    done = []
    with warehouse.connect(read_only=True) as con:
        relations = con.execute(
            "SELECT table_name, CASE WHEN table_type = 'VIEW' THEN 'view' ELSE 'table' END "
            "FROM information_schema.tables WHERE table_schema = 'main' AND table_catalog = current_database() "
            "ORDER BY table_type, table_name").fetchall()
        for name, kind in relations:
            target = directory / f"{name}.parquet"
            temporary = directory / f".{name}.parquet.{os.getpid()}.tmp"
            try:
                con.execute(f"COPY (SELECT * FROM {_ident(name)}) TO {_literal(str(temporary))} (FORMAT parquet)")
                rows = con.execute(f"SELECT count(*) FROM read_parquet({_literal(str(temporary))})").fetchone()[0]
                os.replace(temporary, target)
            except BaseException:
                temporary.unlink(missing_ok=True)
                raise
            done.append(Exported(name, kind, rows, target))
    return done
