"""sma_cross written as a user would, in `on_bar` with its own rolling sums: the benchmark's
user-file strategy. Same rules as the built-in (fast/slow SMA of 1m closes across days, the
sign judged exactly on integer millionths, buy `quantity` on a cross-up while flat, sell on a
cross-down while long, no signal on the session's last bar) and the same indicator requests as
sma_cross_with_indicators.py, so the two runs differ only in how the strategy runs."""

from collections import deque

from pydantic import BaseModel, ConfigDict

from mismarterad.strategies import Strategy


class UserSmaCross(Strategy):
    indicators = ("rsi(14)", "ema(20)@5m")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)

        fast: int = 10
        slow: int = 30
        quantity: int = 100

    def on_session_start(self) -> None:
        self.windows = {}
        for symbol in self.symbols:
            self.windows[symbol] = window = [deque(), 0, 0, None]  # closes, fast sum, slow sum, previous sign
            for bar in self.bars(symbol, "1m", self.params.slow):
                window[3] = self.push(window, bar.close)

    def push(self, window, close):
        fast, slow = self.params.fast, self.params.slow
        values = window[0]
        value = round(close * 1_000_000)
        values.append(value)
        window[1] += value
        window[2] += value
        if len(values) > fast:
            window[1] -= values[-fast - 1]
        if len(values) > slow:
            window[2] -= values.popleft()
        if len(values) < slow:
            return None
        diff = window[1] * slow - window[2] * fast
        return (diff > 0) - (diff < 0)

    def on_bar(self, symbol, interval, bar):
        window = self.windows[symbol]
        sign = self.push(window, bar.close)
        previous, window[3] = window[3], sign
        if sign is None or previous is None or self.is_last_bar(bar):
            return
        held = self.position(symbol)
        if sign > 0 and previous <= 0 and held == 0:
            self.buy(symbol, self.params.quantity)
        elif sign < 0 and previous >= 0 and held > 0:
            self.sell(symbol, held)
