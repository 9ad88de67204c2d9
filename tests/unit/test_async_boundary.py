"""No asyncio in our code but the adapters': outside `mismarterad/integrations/`, where an adapter
may run a library's asyncio in a thread of its own, no module defines or awaits a coroutine
(`async def`, `await`, `async for`, `async with`, an async comprehension) or imports an asyncio
library. The daemon is threads; a coroutine outside an adapter would run on whichever loop
happened to call it (docs/decisions.md, "Where asyncio may run")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ASYNC_LIBRARIES = frozenset({"asyncio", "anyio", "uvicorn", "aiohttp"})
# the async helpers of libraries that are otherwise fine to import (starlette's requests, responses)
ASYNC_MODULES = frozenset({"starlette.concurrency", "fastapi.concurrency"})
PACKAGE = Path(__file__).resolve().parents[2] / "mismarterad"  # the source tree, as committed
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def async_uses(package: Path, allowed: Path) -> list[str]:
    """Each use of async syntax or an asyncio library in the modules under `package` but not
    under `allowed`, as `path:line: what`."""
    found = []
    for path in sorted(package.rglob("*.py")):
        if not path.is_relative_to(allowed):
            where = path.relative_to(package.parent)
            found += [f"{where}:{line}: {what}" for line, what in _uses(ast.parse(path.read_bytes(), str(path)))]
    return found


def _uses(tree: ast.AST) -> list[tuple[int, str]]:
    uses = []
    for node in ast.walk(tree):
        if isinstance(node, ast.AsyncFunctionDef):
            uses.append((node.lineno, f"async def {node.name}"))
        elif isinstance(node, ast.Await):
            uses.append((node.lineno, "await"))
        elif isinstance(node, ast.AsyncFor):
            uses.append((node.lineno, "async for"))
        elif isinstance(node, ast.AsyncWith):
            uses.append((node.lineno, "async with"))
        elif isinstance(node, _COMPREHENSIONS) and any(gen.is_async for gen in node.generators):
            uses.append((node.lineno, "async comprehension"))
        elif isinstance(node, ast.Import):
            uses += [(node.lineno, f"import {a.name}") for a in node.names if _async_library(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _async_library(node.module or ""):
            uses.append((node.lineno, f"from {node.module} import"))
    return sorted(uses)


def _async_library(module: str) -> bool:
    return module.partition(".")[0] in ASYNC_LIBRARIES or module in ASYNC_MODULES


def test_no_module_outside_the_adapters_uses_asyncio() -> None:
    assert (PACKAGE / "integrations").is_dir() and (PACKAGE / "api").is_dir()
    found = async_uses(PACKAGE, PACKAGE / "integrations")
    assert not found, ("asyncio belongs in an adapter under mismarterad/integrations/ (its own thread); "
                       "keep the rest synchronous:\n" + "\n".join(found))


@pytest.mark.parametrize(("planted", "found"), [
    ("async def handler(request):\n    return 1\n", "async def handler"),
    ("def f(x):\n    return (await x)\n", "await"),
    ("async def f(xs):\n    async for x in xs:\n        pass\n", "async for"),
    ("async def f(lock):\n    async with lock:\n        pass\n", "async with"),
    ("async def f(xs):\n    return [x async for x in xs]\n", "async comprehension"),
    ("import json, asyncio.subprocess\n", "import asyncio.subprocess"),
    ("from anyio.to_thread import run_sync\n", "from anyio.to_thread import"),
    ("from starlette.concurrency import run_in_threadpool\n", "from starlette.concurrency import"),
    ("import uvicorn as server\n", "import uvicorn"),
])
def test_the_scan_names_each_use_outside_the_adapters_only(tmp_path: Path, planted: str, found: str) -> None:
    package = tmp_path / "pkg"
    for folder in ("api/routes", "integrations/http_server"):
        (package / folder).mkdir(parents=True)
    (package / "api" / "routes" / "events.py").write_text("import json\n\n" + planted)
    (package / "integrations" / "http_server" / "serve.py").write_text(planted)  # allowed: an adapter
    uses = async_uses(package, package / "integrations")
    assert len(uses) >= 1 and all(use.startswith("pkg/api/routes/events.py:") for use in uses), uses
    assert any(use.endswith(f": {found}") for use in uses), uses
    (package / "api" / "routes" / "events.py").write_text("import json\n")
    assert async_uses(package, package / "integrations") == []
