"""The language model's tools over one report folder: read-only questions about the day,
each answered as JSON. Their arguments come from the model and are checked like any user
input (pydantic, unknown keys refused); a bad call answers an error the model can read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mismarterad.config.errors import format_validation_error
from mismarterad.core.errors import DataError, MismarteradError
from mismarterad.core.market_data import format_price
from mismarterad.runs.report_facts import ReportFacts

__all__ = ["DayTools"]

SYMBOL = r"^[A-Z][A-Z0-9.\-]{0,9}$"
MAX_ROWS = 1000
MAX_BAR_MINUTES = 24 * 60


class _Filter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: str | None = Field(default=None, pattern=SYMBOL, description="only this symbol, e.g. SPY")
    limit: int = Field(default=200, ge=1, le=MAX_ROWS, description="at most this many rows (the first ones)")


class _OrderFilter(_Filter):
    status: str | None = Field(default=None, pattern=r"^[a-z_]{1,20}$", description="e.g. filled, canceled, refused")


class _NoArguments(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _BarRange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: str = Field(pattern=SYMBOL, description="e.g. SPY")
    start: datetime = Field(description="ISO 8601; without an offset it is the exchange's local time")
    end: datetime = Field(description="ISO 8601, after start, at most a day later")


class DayTools:
    """Implements integrations/claude/conversation.ToolBox over a ReportFacts."""

    def __init__(self, facts: ReportFacts) -> None:
        self._facts = facts
        self._tools: dict[str, tuple[str, type[BaseModel], Callable[[Any], object]]] = {
            "trades": ("closed round trips: symbol, entry/exit time and price, quantity (negative: short), pnl, "
                       "strategy", _Filter, self._trades),
            "orders": ("orders with status, times, fills and the reason of a refusal or cancel", _OrderFilter,
                       self._orders),
            "positions": ("net shares per symbol at the end of the report, from the filled orders", _NoArguments,
                          self._positions),
            "pnl": ("equity at the start and end, return, drawdown, and realized P&L per strategy and per symbol",
                    _NoArguments, self._pnl),
            "quality": ("data quality per day and symbol: expected and missing 1m bars, gaps (local times)",
                        _Filter, self._quality),
            "risk": ("pre-trade risk refusals, daily-loss halts, and the run's status and error", _NoArguments,
                     self._risk),
            "bars": ("1-minute OHLCV bars of a symbol between two times (at most a day)", _BarRange, self._bars),
            "session_config": ("the session config the day ran with (secrets hidden)", _NoArguments,
                               self._session_config),
        }

    def schemas(self) -> list[dict[str, Any]]:
        return [{"name": name, "description": text, "input_schema": _schema(model)}
                for name, (text, model, _) in self._tools.items()]

    def call(self, name: str, arguments: object) -> tuple[str, bool]:
        tool = self._tools.get(name)
        if tool is None:
            return _json({"error": f"no tool {name!r}; the tools are {', '.join(self._tools)}"}), True
        _, model, run = tool
        try:
            parsed = model.model_validate(arguments if arguments is not None else {})
        except ValidationError as exc:
            return _json({"error": "invalid arguments: " + "; ".join(format_validation_error(exc))}), True
        try:
            return _json(run(parsed)), False
        except MismarteradError as exc:
            return _json({"error": str(exc)}), True

    def _limited(self, rows: list[dict[str, str]], f: _Filter) -> dict[str, object]:
        if f.symbol is not None:
            rows = [r for r in rows if r.get("symbol") == f.symbol]
        return {"rows": rows[: f.limit], "total": len(rows), "truncated": len(rows) > f.limit}

    def _trades(self, f: _Filter) -> object:
        return self._limited(self._facts.rows("trades.csv"), f)

    def _orders(self, f: _OrderFilter) -> object:
        rows = self._facts.rows("orders.csv")
        if f.status is not None:
            rows = [r for r in rows if r.get("status") == f.status]
        return self._limited(rows, f)

    def _positions(self, _: _NoArguments) -> object:
        net: dict[str, int] = {}
        for r in self._facts.rows("orders.csv"):
            filled, symbol = _number(r, "filled_quantity", int), r.get("symbol", "")
            net[symbol] = net.get(symbol, 0) + (filled if r.get("side") == "buy" else -filled)
        return {"positions": dict(sorted(net.items())), "open": {s: q for s, q in sorted(net.items()) if q}}

    def _pnl(self, _: _NoArguments) -> object:
        summary = self._facts.document("summary.json")
        by_symbol: dict[str, float] = {}
        for t in self._facts.rows("trades.csv"):
            symbol = t.get("symbol", "")
            by_symbol[symbol] = round(by_symbol.get(symbol, 0.0) + _number(t, "pnl", float), 6)
        keep = ("initial_equity", "final_equity", "total_return", "max_drawdown", "sharpe", "trades", "win_rate",
                "exposure", "orders", "fills", "first_day", "last_day", "session_name", "mode")
        return {**{k: summary.get(k) for k in keep}, "strategies": summary.get("strategies", {}),
                "realized_pnl_by_symbol": dict(sorted(by_symbol.items()))}

    def _quality(self, f: _Filter) -> object:
        return self._limited(self._facts.rows("validation.csv"), f)

    def _risk(self, _: _NoArguments) -> object:
        run = self._facts.document("run.json")
        return {"refusals": self._facts.rows("risk.csv")[:MAX_ROWS],
                "summary": self._facts.document("summary.json").get("risk", {}),
                "run": {k: run.get(k) for k in ("status", "error", "resumed_orders", "bars_processed")}}

    def _bars(self, r: _BarRange) -> object:
        tz = self._facts.timezone
        start, end = (t if t.tzinfo is not None else t.replace(tzinfo=tz) for t in (r.start, r.end))
        if not timedelta(0) < end - start <= timedelta(minutes=MAX_BAR_MINUTES):
            raise _ToolError("end must be after start, and at most a day later")
        bars = self._facts.bars(r.symbol, start, end)
        return {"symbol": r.symbol, "interval": "1m", "rows": [
            {"timestamp": b.start_utc.astimezone(tz).isoformat(), "open": format_price(b.open),
             "high": format_price(b.high), "low": format_price(b.low), "close": format_price(b.close),
             "volume": b.volume} for b in bars]}

    def _session_config(self, _: _NoArguments) -> object:
        if self._facts.session_config is None:
            raise _ToolError("the session config is not known here (pass --session-config)")
        return self._facts.session_config


class _ToolError(DataError):
    """A well-formed call the facts cannot answer (a damaged report, a missing config)."""


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    return {"type": "object", "properties": schema.get("properties", {}), "required": schema.get("required", []),
            "additionalProperties": False}


def _number(row: dict[str, str], column: str, kind: type[int] | type[float]) -> Any:
    """A report cell as a number (empty: 0); a DataError naming the column otherwise."""
    text = row.get(column) or "0"
    try:
        return kind(text)
    except ValueError:
        raise _ToolError(f"the report's {column} {text[:40]!r} is not a number") from None


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, default=str)
