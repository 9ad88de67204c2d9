"""How ExecutionManager settles positions: the flatten, the close, the cancel-all.

Part of ExecutionManager (a mixin: its state is the manager's, set in its __init__), kept apart
because the close is the one place that must get through whatever the broker does: every broker
call here is guarded (one failed cancel never leaves the other positions open overnight), and a
real account's close cancels everything first, then closes what is left held, twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import structlog

from mismarterad.core.failpoints import failpoint
from mismarterad.core.orders import Order, OrderStatus, OrderType, Side
from mismarterad.managers.execution_shared import guarded

__all__ = ["SettlingMixin"]

log = structlog.get_logger(component="execution_manager")


class SettlingMixin:
    def close_session(self, step_end_utc: datetime) -> None:
        """Flatten every strategy's position at its symbol's last close (one market-on-close per
        strategy and symbol), then cancel what is still open. A real account gets market orders
        instead: this is also the shutdown's flatten, mid-session, and a market-on-close order
        would wait for 16:00 (and Alpaca refuses them after 15:50)."""
        with self._book:
            self._trade_log.refusals_passed()
            if self._holdings.net():
                self._trade_log.flatten("session_close_flatten", step_end_utc, self._holdings.net())
            self._close_session(step_end_utc)

    def _close_session(self, step_end_utc: datetime) -> None:
        """Cancels first and applies what filled meanwhile (a real venue fills while it cancels),
        then closes what is held then. A broker failure on one order is logged and the rest go on:
        one unreachable cancel must not leave every other position open overnight."""
        real = not self._broker.capabilities.simulated
        if self._catching_up:  # a day-run resumed after the last bar: its catch-up ends here
            self._catching_up = False
            self._replay(step_end_utc)
        for _ in range(2 if real else 1):  # a real venue: a second pass for what filled during the first
            if not self._close_pass(step_end_utc, real):
                break
        self._last_bar.clear()

    def _close_pass(self, step_end_utc: datetime, real: bool) -> bool:
        """One pass of the close; whether anything was left held to close. On a real account every
        open order is canceled first (an entry in a symbol not held yet would fill after the
        flatten), and a symbol whose orders did not cancel (a failed call, an order of unknown
        outcome) gets no closing order in this pass: it could sell the same shares twice."""
        closing_type = OrderType.MARKET if real else OrderType.MARKET_ON_CLOSE
        for order in self._working() if real else [o for s in self._holdings.held_by_symbol()
                                                   for o in self._working(s)]:
            if order.client_order_id in self._strategy_of:  # ours (or adopted) only
                guarded(self._cancel, order.client_order_id)  # flatten orders too: the closing ones replace them
        if real:
            self._cancel_strangers()
        self._apply(self._broker.drain_fills())
        if real:
            self._absorb_differences()
        held_now = self._holdings.held_by_symbol()
        for symbol in [s for s in held_now if s in self._last_bar]:
            if real and self._working(symbol):
                log.error("flatten_deferred", symbol=symbol, reason="an order of the symbol is still working")
                continue
            for strategy_id, quantity in held_now[symbol]:
                side = Side.SELL if quantity > 0 else Side.BUY
                request = self._request(strategy_id, symbol, side, abs(quantity), closing_type, None, None,
                                        step_end_utc, closing=True)
                failpoint("flatten_order")
                order = self._adopted(request, closing=True) or guarded(self._send, request, True)
                if order is None or order.status is OrderStatus.REJECTED:
                    log.error("flatten_rejected", symbol=symbol, strategy=strategy_id, quantity=quantity,
                              reason=order.reason if order else "the broker call failed")
        guarded(self._broker.close_session, dict(self._last_bar))
        self._apply(self._broker.drain_fills())
        return bool(self._holdings.net())

    def cancel_open_orders(self, *, keep_closing: bool = False) -> list[Order]:
        """Cancel every order still open (daemon shutdown with `on_shutdown = "cancel"`); with
        `keep_closing` (a halt) the flatten orders still working are left to close their positions."""
        with self._book:
            canceled = [guarded(self._cancel, o.client_order_id) for o in self._working()
                        if o.client_order_id in self._strategy_of  # ours (or adopted) only
                        and not (keep_closing and o.client_order_id in self._closing)]
            return [o for o in canceled if o is not None]

    def flatten(self, now_utc: datetime) -> list[Order]:
        """Cancel each held symbol's open orders, then close every strategy's position in it with
        that strategy's own market order (filled at the next bar's open). Flatten orders already
        working stay, and only what they do not cover is sent: a second flatten sends nothing.
        On a real account (the pre-close flatten is then the day's close) every session symbol's
        orders are canceled, strangers' too, and the broker's shares no strategy explains are
        closed with the rest, as at the close."""
        with self._book:
            orders = []
            real = not self._simulated
            for symbol in sorted(set(self._holdings.held_by_symbol()) | (self._symbols if real else set())):
                self._cancel_open(symbol)  # once per symbol: the strategies' closing orders must all stay
            if real:
                self._cancel_strangers()
            self._apply(self._broker.drain_fills())  # what filled while it was canceled is held no more
            if real:
                self._absorb_differences()
            for strategy_id, symbol, side, quantity in list(self._uncovered_positions()):
                failpoint("flatten_order")
                orders.append(self.submit(strategy_id, symbol, side, quantity, None, None, now_utc,
                                          risk_reducing=True))
            return orders

    def _uncovered_positions(self) -> Iterator[tuple[str, str, Side, int]]:
        """(strategy, symbol, closing side, shares) of each position the flatten orders working
        do not close."""
        for symbol, held in self._holdings.held_by_symbol().items():
            closing = [o.request for o in self._working(symbol) if o.client_order_id in self._closing]
            for strategy_id, qty in held:
                side = Side.SELL if qty > 0 else Side.BUY
                covered = sum(r.quantity for r in closing if r.strategy == strategy_id and r.side is side)
                if abs(qty) > covered:
                    yield strategy_id, symbol, side, abs(qty) - covered

    def _cancel_open(self, symbol: str) -> None:
        """Cancel the symbol's open orders but the flatten orders working."""
        for order in self._working(symbol):
            if order.client_order_id not in self._closing:
                guarded(self._cancel, order.client_order_id)
