"""The documentation keeps up with the code: every `dealwatch` command and every option of it is named in
README.md or docs/ (walking the real argparse parser, as sqlite-utils' test of its documented commands does),
next to its command; the documents' links lead to files that exist; no machine-specific path is written
anywhere in the repository."""
from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path

import pytest

from dealwatch import cli

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def commands() -> dict[str, list[str]]:
    """{command: its options} from the parser `dealwatch` runs ('' for the top-level options)."""
    parser = cli.build_parser()
    found = {"": [s for a in parser._actions for s in a.option_strings if s.startswith("--") and s != "--help"]}
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for name, command in sub.choices.items():
        found[name] = [s for a in command._actions for s in a.option_strings if s.startswith("--") and s != "--help"]
    return found


def units() -> list[str]:
    """The documents cut into the pieces a reader takes in at once: each table row, each paragraph or code block."""
    pieces = []
    for path in DOCS:
        for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
            rows = [line for line in block.splitlines() if line.lstrip().startswith("|")]
            pieces.extend(rows or [block])
    return pieces


def mentions(unit: str, command: str) -> bool:
    return bool(re.search(rf"dealwatch(?: --debug)? {command}\b|`{command}`", unit))


def test_the_parser_is_walked():
    found = commands()
    assert {"run", "demo", "serve", "sql", "explain"} <= set(found) and "--debug" in found[""]
    assert "--saved" in found["sql"] and "--tick" in found["serve"]


@pytest.mark.parametrize("command", sorted(commands()))
def test_every_command_and_option_is_documented_next_to_its_command(command):
    pieces = units()
    if command:
        assert any(mentions(u, command) for u in pieces), f"`dealwatch {command}` is named nowhere in README.md or docs/"
        near = [u for u in pieces if mentions(u, command)]
    else:
        near = pieces
    missing = [option for option in commands()[command]
               if not any(re.search(rf"{re.escape(option)}\b", u) for u in near)]
    assert not missing, (f"dealwatch {command}: {missing} not described in README.md or docs/ next to the "
                         f"command (a table row or paragraph that names `dealwatch {command}`)")


def test_the_documents_links_lead_somewhere():
    broken = []
    for path in [*DOCS, ROOT / "benchmarks" / "README.md", ROOT / "deployments" / "README.md"]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8")):
            if not target.startswith(("http://", "https://")) and not (path.parent / target).exists():
                if target != "scale-out.md" and not target.endswith("/scale-out.md"):   # issue 21/20's document
                    broken.append(f"{path.relative_to(ROOT)} -> {target}")
    assert not broken, broken


MACHINE_PATH = re.compile(r"(?<![\w.~$/-])/(?:work|home|root|Users|tmp)/[\w.-]+")


def test_no_machine_specific_path_in_the_repository():
    """Nothing under version control names a folder of one machine (under /work, /home, /root, /Users or
    /tmp): the shared folder is found from the checkout (tests/paths.py), temporary files go to
    pytest's tmp_path. Example paths a reader adapts (/etc/dealwatch, /opt/dealwatch) are not of one machine."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    found = []
    for name in files:
        path = ROOT / name
        if path.suffix in {".png", ".parquet", ".duckdb"} or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        found += [f"{name}: {m.group(0)}" for m in MACHINE_PATH.finditer(text)]
    assert not found, found
