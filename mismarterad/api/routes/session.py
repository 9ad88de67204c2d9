"""What the daemon holds now, and the reports of past days: the same views the control socket
answers (`mismarterctl status`, `positions`, `report`, ...), through its own command handler.

A report's files are served with a Content-Security-Policy of their own: `sandbox` (an opaque
origin: no access to the console's storage or the API with its token) and no network. report.html
may run its inline BokehJS (which also compiles its tick formatter) inside that sandbox; other
files run nothing. A browser tab opens a file through a signed link (api/file_links.py).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse

from mismarterad.api.context import ApiContext, context
from mismarterad.api.errors import ApiError, from_command_error
from mismarterad.api.security import BearerToken, SignedIn, signed_in
from mismarterad.daemon.control_server import CommandError
from mismarterad.daemon.views import pnl_view

__all__ = ["router"]

router = APIRouter(tags=["session"])

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_MEDIA = {".csv": "text/csv; charset=utf-8", ".json": "application/json", ".png": "image/png",
          ".html": "text/html; charset=utf-8", ".md": "text/markdown; charset=utf-8", ".txt": "text/plain; charset=utf-8"}
REPORTS_LISTED = 60
FILE_CSP = "sandbox"
PAGE_CSP = ("sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
            "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; base-uri 'none'; form-action 'none'")


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
    found = _ask(ctx, "report", [day], field="date")  # the socket's answer, whole, and the files' links
    return {"date": day, **found, "links": {name: _file_path(day, name) for name in found["files"]}}


def _file_path(day: str, name: str) -> str:
    return f"/api/v1/reports/{day}/files/{name}"


def _report_folder(ctx: ApiContext, day: str, name: str) -> str:
    found = _ask(ctx, "report", [day], field="date")
    if name not in found["files"]:  # only a name the folder lists: no path ever leaves it
        raise ApiError(404, "not_found", f"the report of {day} has no file {name[:80]!r}", "name")
    return str(found["path"])


@router.get("/reports/{date}", summary="one day's report: `mismarterctl report DATE`, with links to its files")
def report(request: Request, _who: SignedIn, date: str) -> dict[str, Any]:
    return _report(context(request), date)


@router.post("/reports/{date}/files/{name}/link",
             summary="a link to one file of a day's report that opens without a token for a minute (a browser tab)")
def report_file_link(request: Request, _who: SignedIn, date: str, name: str) -> dict[str, Any]:
    ctx = context(request)
    _report_folder(ctx, date, name)
    url, expires = ctx.links.sign(_file_path(date, name))
    return {"url": url, "expires": expires.isoformat()}


@router.get("/reports/{date}/files/{name}", summary="one file of a day's report (a bearer token, or a signed link)")
def report_file(request: Request, token: BearerToken, date: str, name: str,
                expires: Annotated[int | None, Query(description="of a signed link")] = None,
                signature: Annotated[str | None, Query(max_length=128, description="of a signed link")] = None,
                ) -> FileResponse:
    ctx = context(request)
    if signature is None:
        signed_in(request, token)
    elif expires is None or not ctx.links.valid(_file_path(date, name), expires, signature):
        raise ApiError(401, "not_authenticated", "the link is invalid or has expired: ask for a new one")
    folder = _report_folder(ctx, date, name)
    suffix = name[name.rfind("."):].lower() if "." in name else ""
    return FileResponse(f"{folder}/{name}", media_type=_MEDIA.get(suffix, "application/octet-stream"),
                        headers={"Content-Security-Policy": PAGE_CSP if suffix == ".html" else FILE_CSP,
                                 "Content-Disposition": f'inline; filename="{name}"'})
