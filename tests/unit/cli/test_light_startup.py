"""`--version`, `--help` and the control client import no heavy library: the handlers import
what they need when they run. Timings live in bench/bench_cli_startup.py; this checks the cause."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("sqlalchemy", "alembic", "pyarrow", "pandas", "numpy", "pydantic", "exchange_calendars", "alpaca",
         "anthropic", "rich", "structlog", "prometheus_client", "apscheduler", "matplotlib", "httpx", "fastapi",
         "starlette", "uvicorn", "argon2", "jwt", "multipart", "schwab", "authlib", "httpx2", "aiohttp")
WEB = ("fastapi", "starlette", "uvicorn", "argon2", "jwt", "multipart")


def _imported_after(code: str) -> list[str]:
    probe = (f"import sys\n{code}\n"
             "import json\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    loaded = set(json.loads(out.splitlines()[-1]))
    return sorted(loaded.intersection(HEAVY))


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["backtest", "--help"], ["data", "export", "--help"]])
def test_the_parser_and_its_help_import_nothing_heavy(argv: list[str]) -> None:
    code = ("from mismarterad.cli.main import build_parser\n"
            f"try:\n    build_parser().parse_args({argv!r})\nexcept SystemExit:\n    pass")
    assert _imported_after(code) == []


def test_a_daemon_without_an_api_table_never_imports_the_web_libraries() -> None:
    """The daemon and the run command import FastAPI, uvicorn and argon2 only to build the API."""
    code = "import mismarterad.daemon.daemon, mismarterad.cli.commands.run_cmd, mismarterad.cli.control_api"
    assert set(_imported_after(code)).intersection(WEB) == set()


def test_the_control_client_imports_only_what_it_renders_with() -> None:
    assert _imported_after("import mismarterad.ctl.main") == ["rich"]


def test_every_command_handler_still_imports() -> None:
    """The imports moved into the handlers are still importable, and name what they name."""
    code = ("from mismarterad.cli.main import build_parser\n"
            "import argparse\n"
            "parser = build_parser()\n"
            "funcs = []\n"
            "def walk(p):\n"
            "    for a in p._actions:\n"
            "        if isinstance(a, argparse._SubParsersAction):\n"
            "            for sub in a.choices.values():\n"
            "                walk(sub)\n"
            "    f = p.get_default('func')\n"
            "    if f is not None:\n"
            "        funcs.append(f)\n"
            "walk(parser)\n"
            "import inspect, ast, textwrap\n"
            "for f in funcs:\n"
            "    tree = ast.parse(textwrap.dedent(inspect.getsource(f)))\n"
            "    for node in ast.walk(tree):\n"
            "        if isinstance(node, ast.ImportFrom):\n"
            "            module = __import__(node.module, fromlist=[a.name for a in node.names])\n"
            "            for a in node.names:\n"
            "                getattr(module, a.name)\n"
            "print(len(funcs))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[-1]) >= 20
