"""Start-up imports only what the command needs (issue 11: start-up plus index load within 1 s).

Checked by the modules a fresh interpreter holds afterwards, never by timing.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

import leakmon.commands
from leakmon.cli import COMMANDS, SUMMARIES, command
from tests.leakmon.cli import run_cli

#: Imported by a command that needs them, never by start-up or by another command's help.
HEAVY = (
    "scrapy",
    "twisted",
    "telethon",
    "starlette",
    "uvicorn",
    "jinja2",
    "openpyxl",
    "apscheduler",
    "argon2",
    "leakmon.workflows.audit",
    "leakmon.web",
    "crawlers.telegram.client",
)
#: `import leakmon.cli` needs Typer and nothing of the application.
NOT_AT_IMPORT = (*HEAVY, "sqlalchemy", "numpy", "pydantic_settings", "rich", "structlog", "leakmon.commands.")

PROBE = """
import json, sys
from leakmon.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def modules_after(*argv: str) -> list[str]:
    """The modules a fresh interpreter holds after ``leakmon ARGV`` (``--help`` runs, nothing else)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True, timeout=300
    )  # fmt: skip
    names: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return names


def loaded(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p if p.endswith(".") else f"{p}.") for p in prefixes)]


def test_the_manifest_lists_every_command_in_the_order_eager_registration_gives() -> None:
    """COMMANDS (which module registers what) agrees with registering every module in name order."""
    eager = typer.Typer()
    owner: dict[str, str] = {}
    for module in sorted(pkgutil.iter_modules(leakmon.commands.__path__), key=lambda m: m.name):
        before = {c.name for c in eager.registered_commands} | {g.name for g in eager.registered_groups}
        importlib.import_module(f"leakmon.commands.{module.name}").register(eager)
        after = {c.name for c in eager.registered_commands} | {g.name for g in eager.registered_groups}
        owner.update(dict.fromkeys(after - before, module.name))  # type: ignore[arg-type]
    order = list(typer.main.get_group(eager).commands)
    assert list(COMMANDS) == order
    assert {name: owner[name] for name in order} == COMMANDS


def test_importing_the_cli_loads_no_command() -> None:
    code = "import json, sys, leakmon.cli; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert loaded(json.loads(done.stdout), NOT_AT_IMPORT) == []


COMMAND_HELP = [["scan", "--help"], ["protect", "import", "--help"], ["init", "--help"]]


@pytest.mark.parametrize("argv", COMMAND_HELP, ids=" ".join)
def test_a_command_loads_its_own_module_only(argv: list[str]) -> None:
    modules = modules_after(*argv)
    assert loaded(modules, ("leakmon.commands.",)) == [f"leakmon.commands.{COMMANDS[argv[0]]}"]
    assert loaded(modules, HEAVY) == []


#: `leakmon --help` lists the commands from the manifest: none of these load.
NOT_FOR_THE_ROOT_HELP = (
    *HEAVY,
    "leakmon.commands.",
    "leakmon.app",
    "leakmon.settings",
    "sqlalchemy",
    "numpy",
    "pydantic_settings",
    "storage.db",
    "storage.models",
    "storage.repositories",
    "matchers.engine",
    "matchers.types",
    "matchers._kernel",
    "crawlers.files",
    "crawlers.analyzer",
    "structlog",
    "cryptography",
)


@pytest.mark.parametrize("argv", [["--help"], []], ids=["--help", "no arguments"])
def test_the_root_help_loads_no_command_module(argv: list[str]) -> None:
    """`leakmon --help` (and `leakmon` alone) list every command by its summary, importing none."""
    assert loaded(modules_after(*argv), NOT_FOR_THE_ROOT_HELP) == []


def root_help(*, eager: bool) -> str:
    """The root's help text, with every command module loaded first (eager) or none."""
    root = command()
    if eager:
        assert len(root.commands) == len(COMMANDS)  # loads every module
    context = typer.Context(root, info_name="leakmon", terminal_width=100, max_content_width=100)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        text = root.get_help(context)
    return text + out.getvalue()


def test_the_summaries_are_the_commands_own() -> None:
    """SUMMARIES holds each command's first help paragraph, and the root help reads the same either way."""
    lazy = root_help(eager=False)
    root = command()
    assert list(SUMMARIES) == list(COMMANDS)
    for name, cmd in root.commands.items():
        assert SUMMARIES[name] == inspect.cleandoc(cmd.short_help or cmd.help or "").split("\n\n")[0], name
        assert not cmd.hidden
        assert not cmd.deprecated
        assert not getattr(cmd, "rich_help_panel", None)
    assert lazy == root_help(eager=True)
    assert "scan" in lazy
    assert SUMMARIES["scan"][:40] in " ".join(lazy.split())


#: A file scan with no hit and nothing stored needs none of these: archive and spreadsheet
#: readers, HTML parsing, encoding guesses, the incident workflows, the audit log.
NOT_FOR_A_TEXT_SCAN = (
    *HEAVY,
    "py7zr",
    "pyzipper",
    "rarfile",
    "stream_unzip",
    "lxml",
    "parsel",
    "charset_normalizer",
    "rapidfuzz",
    "leakmon.workflows",
    "crawlers.web",
    "leakmon.commands.",
    # start-up (issue 11): settings from plain values, the scan's own models, no bar off a terminal
    "pydantic_settings",
    "dotenv",
    "storage.models.crawl",
    "storage.models.telegram",
    "storage.models.web",
    "rich.progress",
    "psycopg",
    "phonenumbers",  # the protected set's foreign numbers only
    "ijson",  # JSON documents only
)


def test_a_text_scan_loads_no_reader_or_workflow_it_does_not_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LEAKMON_HOME", str(tmp_path / "ws"))
    for name in ("LEAKMON_CONFIG", "LEAKMON_DATABASE_URL", "LEAKMON_KEY_FILE", "LEAKMON_HMAC_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    protected = tmp_path / "set.csv"
    protected.write_text("subject_ref,phone\ns1,010-2345-6789\n", encoding="utf-8")
    assert run_cli(capsys, "init").code == 0
    assert run_cli(capsys, "protect", "import", str(protected)).code == 0
    (tmp_path / "note.txt").write_text("nothing protected here: 010-0000-0000\n", encoding="utf-8")
    modules = modules_after("scan", "note.txt", "--no-store", "--format", "jsonl")
    assert "matchers.engine" in modules  # it did scan
    assert loaded(modules, NOT_FOR_A_TEXT_SCAN) == ["leakmon.commands.scan"]


def test_the_crawl_child_loads_neither_the_scheduler_nor_telegram() -> None:
    """`python -m leakmon.scheduler.crawl_child` imports the package: it stays an empty shell."""
    code = (
        "import json, sys, leakmon.scheduler.crawl_child, crawlers.web.runner, leakmon.runtime;"
        "print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    modules = json.loads(done.stdout)
    assert loaded(modules, ("apscheduler", "telethon", "crawlers.telegram", "leakmon.scheduler.service")) == []


#: What a `scan --jobs N` worker runs: the range readers, the matcher and the hit rows. Workers may be
#: forked before the parent imports SQLAlchemy (0.2-0.3 CPU s, paid again in each worker that needed it).
SCAN_WORKER = (
    "crawlers.parallel",
    "crawlers.analyzer",
    "crawlers.hitspool",
    "crawlers.files.ranges",
    "matchers.engine",
)


def test_the_scan_workers_code_loads_no_database_layer() -> None:
    code = f"import json, sys\nfor m in {SCAN_WORKER!r}: __import__(m)\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    modules = json.loads(done.stdout)
    assert loaded(modules, ("sqlalchemy", "storage.models.core", "storage.repositories", "cryptography")) == []


#: The modules `scan` holds when its workers start on a big first file (``--jobs 2``).
AHEAD_PROBE = """
import json, sys
import crawlers.parallel as parallel
seen = []
real = parallel.ParallelScanner.prefetch
def prefetch(self, *args, **kwargs):
    seen.append(sorted(sys.modules))
    return real(self, *args, **kwargs)
parallel.ParallelScanner.prefetch = prefetch
from leakmon.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(seen))
"""


def test_scan_workers_start_before_the_database_layer_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Start-up before `scan --jobs 2` forks its workers is serial: the key check, the set's
    fingerprint and the workers' confirmations read on the DB-API driver, and SQLAlchemy, the models
    and the output load in the parent while the workers match (issue 11: --jobs 2 at 1.8x)."""
    monkeypatch.setenv("LEAKMON_HOME", str(tmp_path / "ws"))
    for name in ("LEAKMON_CONFIG", "LEAKMON_DATABASE_URL", "LEAKMON_KEY_FILE", "LEAKMON_HMAC_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    protected = tmp_path / "set.csv"
    protected.write_text("subject_ref,phone\ns1,010-2345-6789\n", encoding="utf-8")
    assert run_cli(capsys, "init").code == 0
    assert run_cli(capsys, "protect", "import", str(protected)).code == 0
    big = tmp_path / "big.txt"
    big.write_text("주문 고객 연락처 010-0000-0000 처리\n" * 130_000 + "010-2345-6789\n", encoding="utf-8")
    assert run_cli(capsys, "scan", "big.txt", "--no-store").code == 0  # writes the index cache
    argv = ["scan", "big.txt", "--no-store", "--format", "jsonl", "--jobs", "2"]
    done = subprocess.run(
        [sys.executable, "-c", AHEAD_PROBE, *argv], capture_output=True, text=True, check=True, timeout=300
    )  # fmt: skip
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(seen) == 1, done.stderr
    assert '"masked"' in done.stdout  # the hit was found and printed
    heavy = ("sqlalchemy", "storage.models.core", "storage.repositories", "cryptography", "leakmon.scan", "psycopg")
    assert loaded(seen[0], (*heavy, "rich")) == []  # the output's console too (0.03 CPU s)
