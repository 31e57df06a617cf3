"""Warehouses as older versions of dealwatch left them, for the tests of their upgrade."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import duckdb

from dealwatch.warehouse import migrations


@contextmanager
def warehouse_at_version(path: Path, version: int):
    """A DuckDB file with the schema as migration `version` left it (and its versions recorded), open for the rows
    an older dealwatch would have written; closed on leaving."""
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP)")
        for number, migration in migrations():
            if number <= version:
                con.execute(migration.read_text(encoding="utf-8"))
                con.execute("INSERT INTO schema_version VALUES (?, now())", [number])
        yield con
