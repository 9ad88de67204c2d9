"""How every emulator answers one REST request under its armed HTTP faults, and its own errors.

The order of events is the venue's worst case: a `delay` holds the request before it is
handled; a 429 refuses it before anything is made; a 500 comes after the handler ran (an
order POSTed under it exists); a lost response is never written, the connection is closed
once the client gives up. A refusal the account raises (OrderError) and a bug of ours become
the venue's own JSON error (`error(status, code, message)`), never aiohttp's text page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from mismarterad.integrations.venue_emulator.faults import HttpFault
from mismarterad.integrations.venue_emulator.values import OrderError

__all__ = ["ErrorResponse", "answer_with_faults"]

log = structlog.get_logger(component="emulator_server")

ErrorResponse = Callable[[int, int, str], web.Response]  # (HTTP status, venue code, message)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def answer_with_faults(request: web.Request, handler: Handler, fault: HttpFault,
                             error: ErrorResponse) -> web.StreamResponse:
    """The handler's answer to `request`, as `fault` bends it (see the module docstring)."""
    if fault.delay_secs:
        await asyncio.sleep(fault.delay_secs)
    if fault.status == 429:
        return error(429, 42910000, "rate limit exceeded")
    try:
        response = await handler(request)
    except OrderError as exc:
        response = error(exc.http_status, exc.code, exc.message)
    except web.HTTPException as exc:  # no such route or method: the venue's JSON error, not aiohttp's text
        if exc.status < 400:
            raise
        response = error(exc.status, exc.status * 100_000, str(exc.reason).lower())
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a bug of ours: the venue's JSON 500, the traceback only in our log
        log.exception("request_failed", method=request.method, path=request.path, error=str(exc))
        response = error(500, 50010000, "internal server error")
    if fault.status == 500:
        return error(500, 50010000, "internal server error")  # after the handler: an order exists
    if fault.lost_hold_secs is not None:
        await _lose(request, fault.lost_hold_secs)
    return response


async def _lose(request: web.Request, hold_secs: float) -> None:
    """Never answer: wait until the client gives up (or `hold_secs`), then drop the connection."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + hold_secs
    while loop.time() < deadline and request.transport is not None and not request.transport.is_closing():
        await asyncio.sleep(0.05)
    if request.transport is not None:
        request.transport.close()
    raise asyncio.CancelledError  # aiohttp drops a cancelled handler's request without writing
