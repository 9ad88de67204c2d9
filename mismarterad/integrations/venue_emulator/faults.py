"""Injected faults: what `POST /_emulator/faults` arms and the emulator consumes one by one.

Each kind hurts a client the way the real venue sometimes does (a dropped socket, a 500 after
the order was made, a response that never comes). The book is thread-safe: the REST loop and
the market thread both take from it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

__all__ = ["FaultBook", "FaultError", "HttpFault", "parse_fault"]


class _Fault(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DropStream(_Fault):
    kind: Literal["drop_stream"]
    stream: Literal["data", "trading", "both"] = "both"


class StallStream(_Fault):
    kind: Literal["stall_stream"]
    minutes: int = Field(gt=0)


class SkipBars(_Fault):
    kind: Literal["skip_bars"]
    count: int = Field(gt=0)


class HttpStatus(_Fault):
    kind: Literal["http_429", "http_500"]
    count: int = Field(default=1, gt=0)


class LostResponse(_Fault):
    kind: Literal["lost_response"]
    count: int = Field(default=1, gt=0)
    hold_secs: float = Field(default=60.0, gt=0, le=600)  # then the connection is closed unanswered


class Delay(_Fault):
    kind: Literal["delay"]
    ms: int = Field(gt=0, le=600_000)
    count: int = Field(default=1, gt=0)


class Simple(_Fault):
    kind: Literal["reject_next_order", "out_of_order_updates"]


class PartialFill(_Fault):
    kind: Literal["partial_fill"]
    fraction: float = Field(gt=0, lt=1)


class DuplicateUpdates(_Fault):
    kind: Literal["duplicate_updates"]
    count: int = Field(default=1, gt=0)


Fault = Annotated[
    DropStream | StallStream | SkipBars | HttpStatus | LostResponse | Delay | Simple | PartialFill | DuplicateUpdates,
    Field(discriminator="kind"),
]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(Fault)


class FaultError(ValueError):
    """A fault request that names an unknown kind or a bad field."""


def parse_fault(body: Any) -> Any:
    """The fault a JSON body asks for; FaultError naming the bad field otherwise."""
    try:
        return _ADAPTER.validate_python(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        # a discriminated union's loc is (kind, field); an unknown or missing kind has none
        where = ".".join(str(p) for p in first["loc"][1:]) or "kind"
        raise FaultError(f"{where}: {first['msg']}") from None


@dataclass(frozen=True, slots=True)
class HttpFault:
    """What to do to one REST request: an error status, a delay, or a lost response."""

    status: int | None = None
    delay_secs: float = 0.0
    lost_hold_secs: float | None = None


class FaultBook:
    """Armed faults and their remaining counts; every `take_*` consumes what it returns."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._status: list[int] = []  # one entry per request to fail, in order
        self._delays: list[float] = []
        self._lost: list[float] = []
        self._silent_minutes = 0
        self._reject = False
        self._partial: float | None = None
        self._duplicates = 0
        self._reverse_next = False

    def arm(self, fault: Any) -> None:
        """Arm a parsed fault; `drop_stream` is not kept here (the server closes sockets at once)."""
        with self._lock:
            match fault:
                case HttpStatus(kind=kind, count=count):
                    self._status += [int(kind.removeprefix("http_"))] * count
                case Delay(ms=ms, count=count):
                    self._delays += [ms / 1000] * count
                case LostResponse(count=count, hold_secs=hold):
                    self._lost += [hold] * count
                case StallStream(minutes=n) | SkipBars(count=n):
                    self._silent_minutes += n
                case Simple(kind="reject_next_order"):
                    self._reject = True
                case Simple(kind="out_of_order_updates"):
                    self._reverse_next = True
                case PartialFill(fraction=fraction):
                    self._partial = fraction
                case DuplicateUpdates(count=count):
                    self._duplicates += count

    def take_http(self, is_order_post: bool) -> HttpFault:
        """The fault for the next REST request; lost responses hit only POST /v2/orders."""
        with self._lock:
            status = self._status.pop(0) if self._status else None
            delay = self._delays.pop(0) if self._delays else 0.0
            lost = self._lost.pop(0) if is_order_post and self._lost else None
            return HttpFault(status, delay, lost)

    def take_order_faults(self) -> tuple[bool, float | None, bool]:
        """For a new order: (reject it, its first fill's fraction, send its updates reversed)."""
        with self._lock:
            taken = (self._reject, self._partial, self._reverse_next)
            self._reject, self._partial, self._reverse_next = False, None, False
            return taken

    def take_silent_minute(self) -> bool:
        """True if this minute's bars must not be streamed (stall_stream, skip_bars)."""
        with self._lock:
            if self._silent_minutes:
                self._silent_minutes -= 1
                return True
            return False

    def take_duplicate(self) -> bool:
        with self._lock:
            if self._duplicates:
                self._duplicates -= 1
                return True
            return False
