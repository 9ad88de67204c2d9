"""What the daemon holds now, and the reports of past days: the same views the control socket
answers (`mismarterctl status`, `positions`, ...), through its own command handler."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from mismarterad.api.context import ApiContext, context
from mismarterad.api.errors import ApiError, from_command_error
from mismarterad.api.security import SignedIn
from mismarterad.daemon.control_server import CommandError
from mismarterad.daemon.views import pnl_view

__all__ = ["router"]

router = APIRouter(tags=["session"])

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_MEDIA = {".csv": "text/csv; charset=utf-8", ".json": "application/json", ".png": "image/png",
          ".html": "text/html; charset=utf-8", ".md": "text/markdown; charset=utf-8", ".txt": "text/plain; charset=utf-8"}
REPORTS_LISTED = 60


def _ask(ctx: ApiContext, cmd: str, words: list[str] | None = None, field: str | None = None) -> Any:
    try:
        return ctx.commands(cmd, {"words": words or []}, None)
    except CommandError as exc:
        raise from_command_error(exc, field) from None


@router.get("/status", summary="state, clock, next start/stop, session date, halt, broker (mismarterctl status)")
def status(request: Request, _who: SignedIn) -> dict[str, Any]:
    return context(request).status()


# the socket's read commands, each a route of its own: (command, what it answers)
SOCKET_VIEWS = (("positions", "the broker's net position per symbol with each strategy's share"),
                ("orders", "the orders of the running (or last) day-run"),
                ("trades", "today's closed round trips"),
                ("quality", "data quality and gaps per symbol so far"),
                ("threads", "the session threads: alive, last loop, queue depth, items"),
                ("session", "the session config, hours and progress"))


def _socket_view(cmd: str) -> Any:
    def view(request: Request, _who: SignedIn) -> Any:
        return _ask(context(request), cmd)

    view.__name__ = cmd
    return view


for _cmd, _summary in SOCKET_VIEWS:
    router.add_api_route(f"/{_cmd}", _socket_view(_cmd), methods=["GET"], summary=_summary)


@router.get("/pnl", summary="today's realized and unrealized P&L and equity, with the day's curve so far")
def pnl(request: Request, _who: SignedIn) -> dict[str, Any]:
    ctx = context(request)
    return {**pnl_view(ctx.control.snapshot()), "series": ctx.watch.series()}


@router.get("/reports", summary="the days with a written report, newest first, with their summaries")
def reports(request: Request, _who: SignedIn) -> list[dict[str, Any]]:
    ctx = context(request)
    root = ctx.control.reports_dir
    days = sorted((p.name for p in root.iterdir() if p.is_dir() and _DAY.fullmatch(p.name)), reverse=True) \
        if root.is_dir() else []
    out = []
    for day in days[:REPORTS_LISTED]:
        try:
            out.append(_report(ctx, day))
        except ApiError:
            continue  # removed meanwhile
    return out


def _report(ctx: ApiContext, day: str) -> dict[str, Any]:
    found = _ask(ctx, "report", [day], field="date")
    return {"date": day, "path": found["path"], "summary": found["summary"], "files": found["files"],
            "links": {name: f"/api/v1/reports/{day}/files/{name}" for name in found["files"]}}


@router.get("/reports/{date}", summary="one day's report: its summary and links to its files")
def report(request: Request, _who: SignedIn, date: str) -> dict[str, Any]:
    return _report(context(request), date)


@router.get("/reports/{date}/files/{name}", summary="one file of a day's report")
def report_file(request: Request, _who: SignedIn, date: str, name: str) -> FileResponse:
    found = _ask(context(request), "report", [date], field="date")
    if name not in found["files"]:  # only a name the folder lists: no path ever leaves it
        raise ApiError(404, "not_found", f"the report of {date} has no file {name[:80]!r}", "name")
    suffix = name[name.rfind("."):].lower() if "." in name else ""
    return FileResponse(f"{found['path']}/{name}", media_type=_MEDIA.get(suffix, "application/octet-stream"),
                        headers={"Content-Security-Policy": "sandbox", "Content-Disposition": f'inline; filename="{name}"'})
