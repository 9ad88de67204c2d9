"""The crash rig: the real daemon trading through a real venue emulator (Alpaca's, or Schwab's:
a `CrashVenue`), killed and restarted.

One emulator account (one `--state-dir`) and one daemon state directory serve every day of a
test. Each replayed day gets its own emulator process (its replay clock starting before that
day's open, the account carried over from the day before) and the daemon is (re)started as
often as the test likes, every time on a replay clock that starts at the emulator's clock now
(`--start` = the emulator's /v2/clock), at the same speed.

The checks read only what is outside the daemon: its SQLite database (`<state>/mismarterad.db`,
read-only), its report folders, its socket, its Schwab order ledger (a state file), and the
emulator's venue API and request log.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any

from alpaca.trading.client import TradingClient
from alpaca.trading.enums import QueryOrderStatus
from alpaca.trading.requests import GetOrdersRequest
from support.alpaca_emulator import KEY_ID, NY, SECRET, start_emulator
from support.daemon_process import DAEMON_SESSION_CONFIG, DaemonProcess, make_daemon, write_daemon_config
from support.emulator_process import EmulatorProcess
from support.schwab_day import ledger_bindings
from support.schwab_emulator import ACCOUNT_NUMBER, APP_KEY, APP_SECRET, SchwabEmulator, start_schwab_emulator

from mismarterad.integrations.schwab import LEDGER_FILE_NAME, TOKEN_FILE_NAME

CHURN_FILE = Path(__file__).with_name("churn_strategy.py")
FINAL = frozenset({"filled", "canceled", "rejected", "expired", "refused"})
REPORT_FILES = ("trades.csv", "orders.csv", "risk.csv", "equity.csv", "summary.json", "validation.csv",
                "equity.png", "report.html", "run.json")
REBUILT_FILES = ("trades.csv", "orders.csv", "summary.json", "run.json")
# the emulator's status of an order -> the journal statuses that agree with it
AGREES = {"filled": {"filled"}, "canceled": {"canceled"}, "expired": {"expired", "canceled"},
          "rejected": {"rejected"}, "partially_filled": {"partially_filled"}}


def churn_session_config(root: Path, *, name: str = "crash rig SPY", flatten_minutes: int = 10,
                         **params: Any) -> Path:
    """The SPY daemon config trading tests/support/churn_strategy.py (`params` are its Params)."""
    config = json.loads(DAEMON_SESSION_CONFIG.read_text())
    config.update(session_name=name, flatten_minutes_before_close=flatten_minutes,
                  strategies=[{"file": str(CHURN_FILE), "class": "Churn", "symbols": ["SPY"], "params": params}])
    root.mkdir(parents=True, exist_ok=True)
    path = root / "churn_session.json"
    path.write_text(json.dumps(config))
    return path


def ny(day: str, hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime.combine(date.fromisoformat(day), dt_time(hh, mm, ss), NY).astimezone(UTC)


def all_orders_request() -> GetOrdersRequest:
    return GetOrdersRequest(status=QueryOrderStatus.ALL, limit=500)


# --- the daemon's database, read from outside -------------------------------------------------


class Db:
    """Read-only queries of the daemon's SQLite database."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        try:
            con.row_factory = sqlite3.Row
            return [dict(r) for r in con.execute(sql, tuple(params))]
        finally:
            con.close()

    def orders(self, prefix: str = "") -> dict[str, dict[str, Any]]:
        """The journal: one row per client_order_id (the newest row if several runs wrote one)."""
        rows = self.query("SELECT * FROM orders WHERE client_order_id LIKE ? ORDER BY id", (prefix + "%",))
        return {r["client_order_id"]: r for r in rows}

    def order_rows(self) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM orders ORDER BY id")

    def fills(self, prefix: str = "") -> list[dict[str, Any]]:
        return self.query("SELECT * FROM fills WHERE client_order_id LIKE ? ORDER BY id", (prefix + "%",))

    def runs(self) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM runs ORDER BY id")

    def newest_positions(self) -> dict[str, int]:
        """The newest live run's saved positions that are not flat, quantity per symbol."""
        runs = self.query("SELECT id FROM runs WHERE kind = 'live' AND id IN (SELECT run_id FROM positions) "
                          "ORDER BY id DESC LIMIT 1")
        if not runs:
            return {}
        rows = self.query("SELECT symbol, quantity FROM positions WHERE run_id = ?", (runs[0]["id"],))
        return {r["symbol"]: int(r["quantity"]) for r in rows if int(r["quantity"]) != 0}


# --- kills and their records ------------------------------------------------------------------


@dataclass
class Kill:
    day: str
    n: int
    kind: str  # failpoint | mid_send | random
    point: str  # the failpoint, "mid_send", or "random"
    hit: int | None = None
    fired: bool = False  # the failpoint killed the daemon (or the held POST was caught)
    planned_real_secs: float | None = None
    emulator_time: str | None = None  # the emulator's clock when the daemon died
    real_time: float | None = None  # seconds since the rig started
    resume_secs: float | None = None  # from the (re)start to status showing the day-run running
    note: str = ""
    status: dict[str, Any] | None = None  # what the daemon's status said just before the kill


@dataclass
class Start:
    """One (re)start of the daemon: when (real and emulator time), and how long to resume."""

    n: int
    day: str
    real_time: float
    emulator_start: str
    failpoints: str | None
    resume_secs: float | None = None
    clock_lead_secs: float = 0.0  # market seconds added to --start for the daemon's start-up
    clock_behind_secs: float | None = None  # market seconds its clock trailed the emulator's, once up


@dataclass(frozen=True)
class CrashVenue:
    """What differs between the venues the rig crashes a daemon on."""

    name: str  # the daemon's broker and table
    settings: dict[str, Any]  # the table's keys besides the endpoint
    env: dict[str, str]  # the daemon's credentials
    stream_paths: tuple[str, ...]  # websocket upgrades in the request log
    start: Callable[[CrashRig, str], EmulatorProcess]  # this day's emulator, its clock from an ISO start
    is_order_post: Callable[[dict[str, Any]], bool]
    posted_ids: Callable[[CrashRig], list[str]]  # our client id of every order the venue holds or was sent
    orders: Callable[[CrashRig], dict[str, tuple[str, int]]]  # its orders: id -> (status word, shares filled)
    poke: Callable[[CrashRig], None]  # one cheap REST request (it uses up an armed delay)
    # the fault that holds the daemon's next order POST: Alpaca's `delay` holds the request (its
    # client id makes a POST processed after the restart's lookup recognizable); Schwab's
    # `lost_response` makes the order at once and holds the answer (a POST made after the
    # lookup that found nothing would be a second order nothing tells apart from the next one)
    hold_post: dict[str, Any]


def _alpaca_orders(rig: CrashRig) -> dict[str, tuple[str, int]]:
    return {cid: (o.status.value, int(float(o.filled_qty or 0))) for cid, o in rig.broker_orders().items()}


ALPACA = CrashVenue(
    "alpaca", {}, {"APCA_API_KEY_ID": KEY_ID, "APCA_API_SECRET_KEY": SECRET}, ("/stream", "/v2/iex"),
    lambda rig, clock_start: start_emulator(rig.emulator_data, rig.root / "emulator-state", clock_start=clock_start,
                                            speed=rig.speed),
    lambda r: r["method"] == "POST" and r["path"] == "/v2/orders",
    lambda rig: [r["client_order_id"] for r in rig.posted()],
    _alpaca_orders,
    lambda rig: rig.client().get_clock(),
    {"kind": "delay", "ms": 2500, "count": 2},
)


def _schwab_session(rig: CrashRig) -> Any:
    assert isinstance(rig.emulator, SchwabEmulator)
    return rig.emulator.session(rig.state_dir / TOKEN_FILE_NAME)


def _schwab_orders(rig: CrashRig) -> dict[str, tuple[str, int]]:
    """Every order of the account over the rig's days, by our client id (from the daemon's
    ledger; an order it never bound is `schwab-<id>`), its status in the journal's words."""
    assert isinstance(rig.emulator, SchwabEmulator)
    bound = ledger_bindings(rig.state_dir / LEDGER_FILE_NAME)
    session = _schwab_session(rig)
    try:
        now = rig.emulator_now()
        listed = session.client.get_orders_for_account(
            rig.emulator.account_hash(), from_entered_datetime=now - timedelta(days=7),
            to_entered_datetime=now + timedelta(days=1)).json()
    finally:
        session.close()
    out = {}
    for o in listed:
        filled = int(o["filledQuantity"])
        word = {"FILLED": "filled", "CANCELED": "canceled", "EXPIRED": "expired", "REJECTED": "rejected"}.get(
            o["status"], "partially_filled" if filled else "working")
        out[bound.get(str(o["orderId"]), f"schwab-{o['orderId']}")] = (word, filled)
    return out


def _schwab_posted_ids(rig: CrashRig) -> list[str]:
    """One id per order the venue made: the client id the daemon's ledger bound it to (an id
    bound to two orders shows twice), or `schwab-<id>` for an order it never bound."""
    path = rig.state_dir / LEDGER_FILE_NAME
    client_of: dict[str, str] = {}
    ids: list[str] = []
    for line in path.read_text().splitlines() if path.exists() else []:
        with contextlib.suppress(ValueError):
            bound = json.loads(line).get("bound")
            if bound and str(bound["order_id"]) not in client_of:
                client_of[str(bound["order_id"])] = bound["client_order_id"]
                ids.append(bound["client_order_id"])
    made = {r["order_id"] for r in rig.posted() if r.get("order_id")}
    if rig.emulator is not None:  # a POST whose answer was lost made an order the log has no id of
        made |= {cid.removeprefix("schwab-") for cid in rig.venue.orders(rig) if cid.startswith("schwab-")}
    return ids + [f"schwab-{order_id}" for order_id in sorted(made - set(client_of))]


def _schwab_start(rig: CrashRig, clock_start: str) -> SchwabEmulator:
    return start_schwab_emulator(rig.emulator_data, rig.root / "emulator-state", rig.state_dir / TOKEN_FILE_NAME,
                                 clock_start=clock_start, speed=rig.speed)


def _schwab_poke(rig: CrashRig) -> None:
    session = _schwab_session(rig)
    try:
        session.client.get_account_numbers()
    finally:
        session.close()


SCHWAB = CrashVenue(
    "schwab", {"account_number": ACCOUNT_NUMBER}, {"SCHWAB_APP_KEY": APP_KEY, "SCHWAB_APP_SECRET": APP_SECRET},
    ("/ws",), _schwab_start, lambda r: r["method"] == "POST" and r["path"].endswith("/orders"),
    _schwab_posted_ids, _schwab_orders, _schwab_poke, {"kind": "lost_response", "hold_secs": 2.5},
)


@dataclass
class CrashRig:
    root: Path
    emulator_data: Path
    session_config: Path
    speed: float
    daemon_config: dict[str, Any] = field(default_factory=dict)
    venue: CrashVenue = ALPACA
    emulator: Any = None  # this day's EmulatorProcess (AlpacaEmulator, SchwabEmulator)
    daemon: DaemonProcess | None = None
    day: str = ""
    kills: list[Kill] = field(default_factory=list)
    starts: list[Start] = field(default_factory=list)
    request_logs: list[list[dict[str, Any]]] = field(default_factory=list)  # one per finished emulator
    unexpected_exits: list[str] = field(default_factory=list)
    startup_delays: list[float] = field(default_factory=list)  # real seconds from spawn to the clock's start
    t0: float = field(default_factory=time.monotonic)

    # -- processes -------------------------------------------------------------------------

    @property
    def state_dir(self) -> Path:
        return self.root / "daemon" / "state"

    @property
    def db(self) -> Db:
        return Db(self.state_dir / "mismarterad.db")

    def report_dir(self, day: str) -> Path:
        return self.state_dir / "reports" / day

    def start_emulator(self, day: str, at: dt_time) -> Any:
        """This day's emulator process on the one account, its replay clock from `at` (New York)."""
        assert self.emulator is None, "stop the previous day's emulator first"
        self.day = day
        self.root.mkdir(parents=True, exist_ok=True)
        self.emulator = self.venue.start(self, datetime.combine(date.fromisoformat(day), at, NY).isoformat())
        self._write_daemon_config()
        return self.emulator

    def stop_emulator(self) -> None:
        assert self.emulator is not None
        self.request_logs.append(self.emulator.requests())
        self.emulator.stop()
        os.replace(self.emulator.log_path, self.emulator.log_path.with_name(f"emulator-{self.day}.log"))
        self.emulator = None

    def _write_daemon_config(self) -> None:
        assert self.emulator is not None
        name = self.venue.name
        config: dict[str, Any] = {"broker": name, "lead_minutes": 5, "lag_minutes": 2, **self.daemon_config}
        config[name] = {"endpoint": self.emulator.base_url, **self.venue.settings, **config.get(name, {})}
        if self.daemon is None:
            self.daemon = make_daemon(self.root / "daemon", self.root / "daemon-data", session_config=self.session_config,
                                      start=self.emulator_now().isoformat(), speed=self.speed, **config)
            self.daemon.env.update(self.venue.env)
        else:  # a new emulator (a new day) listens on a new port
            write_daemon_config(self.daemon.config_path, self.session_config, self.daemon.socket_path,
                                self.daemon.metrics_port, **config)

    def client(self) -> TradingClient:
        assert self.emulator is not None
        return TradingClient(KEY_ID, SECRET, url_override=self.emulator.base_url)

    def emulator_now(self) -> datetime:
        assert self.emulator is not None
        return self.emulator.now()

    def elapsed(self) -> float:
        return round(time.monotonic() - self.t0, 3)

    def start_daemon(self, failpoints: str | None = None) -> Start:
        """(Re)start the daemon at the emulator's clock now, with these failpoints armed.

        The daemon's replay clock starts ticking when the process has imported its modules and
        read its config (1.5-3 s here, 4-9 minutes of market time at 170x), not when it is
        spawned; a daemon given the emulator's time at the spawn would trail the emulator by that
        much, and one restarted near the close would flatten after the emulator's close. So
        --start is the emulator's time now plus the start-up measured at the earlier starts
        (the median, less 60 market seconds: the start-up varies by ±0.4 s, and a daemon a little
        behind the venue is what a real one is, never ahead of it)."""
        d = self.daemon
        assert d is not None and (d.proc is None or d.proc.poll() is not None), "the daemon is still running"
        if d.socket_path.exists():  # a SIGKILLed daemon leaves its socket file behind
            d.socket_path.unlink()
        lead = max(0.0, statistics.median(self.startup_delays) * self.speed - 60.0) if self.startup_delays else 0.0
        now = self.emulator_now()
        d.args = ["--clock", "replay", "--start", (now + timedelta(seconds=lead)).isoformat(), "--speed", str(self.speed)]
        d.env.pop("MISMARTERAD_FAILPOINTS", None)
        if failpoints:
            d.env["MISMARTERAD_FAILPOINTS"] = failpoints
        start = Start(len(self.starts) + 1, self.day, self.elapsed(), now.astimezone(NY).isoformat(), failpoints,
                      clock_lead_secs=round(lead, 1))
        self.starts.append(start)
        d.start()
        start.real_time = self.elapsed()
        start._monotonic = time.monotonic()  # type: ignore[attr-defined]
        return start

    def alive(self) -> bool:
        d = self.daemon
        return d is not None and d.proc is not None and d.proc.poll() is None

    def status(self, timeout: float = 10.0) -> dict[str, Any] | None:
        assert self.daemon is not None
        try:
            reply = self.daemon.request("status", timeout=timeout)
        except (OSError, ValueError):
            return None
        return reply["result"] if reply.get("ok") else None

    def running_day(self, status: dict[str, Any] | None) -> bool:
        return bool(status) and status["state"] == "RUNNING" and status["session_date"] == self.day  # type: ignore[index]

    def wait_resumed(self, start: Start, timeout: float = 30.0, *, in_window: bool = True, must: bool = True) -> bool:
        """Until the daemon answers status with today's day-run running (or, out of the day's
        window, until it answers at all); False if it died first (an armed failpoint)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                return False
            status = self.status()
            if status is not None and (self.running_day(status) or not in_window):
                start.resume_secs = round(time.monotonic() - start._monotonic, 3)  # type: ignore[attr-defined]
                self._measure_clock(start, status)
                return True
            time.sleep(0.05)
        if not must:
            return False
        raise AssertionError(f"the daemon did not resume within {timeout} s (start {start}):\n"
                             f"{self.daemon.log_text()[-4000:] if self.daemon else ''}")

    def _measure_clock(self, start: Start, status: dict[str, Any]) -> None:
        """How far the daemon's clock trails the emulator's; its start-up delay, for the next start."""
        theirs = self.emulator_now()
        behind = (theirs - datetime.fromisoformat(status["clock"])).total_seconds()
        start.clock_behind_secs = round(behind, 1)
        delay = (behind + start.clock_lead_secs) / self.speed
        if 0 < delay < 15:
            self.startup_delays.append(delay)

    def kill(self, record: Kill) -> None:
        """SIGKILL the daemon now (if it is still alive) and record when."""
        d = self.daemon
        assert d is not None and d.proc is not None
        if d.proc.poll() is None:
            record.status = _status_digest(self.status(timeout=0.5))
        if d.proc.poll() is None:
            d.proc.send_signal(signal.SIGKILL)
        elif d.proc.returncode != -signal.SIGKILL:  # it ended by itself: a crash of its own
            record.note = (record.note + f" exited by itself with {d.proc.returncode}").strip()
            self.unexpected_exits.append(f"start {len(self.starts)}: exit {d.proc.returncode} ({d.logs[-1]})")
        d.proc.wait(10)
        record.emulator_time = self.emulator_now().astimezone(NY).isoformat()
        record.real_time = self.elapsed()
        self.kills.append(record)

    def wait_died(self, timeout: float, until: datetime | None = None) -> bool:
        """True if the daemon dies (by SIGKILL: a failpoint) within `timeout` real seconds, and
        before the emulator's clock reaches `until`."""
        d = self.daemon
        assert d is not None and d.proc is not None
        deadline = time.monotonic() + timeout
        while (rc := d.proc.poll()) is None:
            if time.monotonic() >= deadline or (until is not None and self.emulator_now() >= until):
                return False
            time.sleep(0.02)
        assert rc == -signal.SIGKILL, f"the daemon exited with {rc}, not by its failpoint:\n{d.log_text()[-4000:]}"
        return True

    def stop_daemon(self) -> None:
        d = self.daemon
        if d is not None and d.proc is not None and d.proc.poll() is None:
            d.proc.send_signal(signal.SIGTERM)
            try:
                d.proc.wait(30)
            except subprocess.TimeoutExpired:
                d.proc.kill()
                d.proc.wait(10)

    def close(self) -> None:
        if self.daemon is not None:
            self.daemon.kill()
            self.daemon.notify.close()
        if self.emulator is not None:
            with contextlib.suppress(OSError):
                self.request_logs.append(self.emulator.requests())
            self.emulator.stop()
        # kept for a failure's post-mortem: what reached the emulators, in order
        (self.root / "emulator-requests.json").write_text(json.dumps(self.request_logs, indent=1))

    # -- the emulator's side ---------------------------------------------------------------

    def venue_requests(self) -> list[dict[str, Any]]:
        """Every venue request the emulators received, the finished days' and today's."""
        current = self.emulator.requests() if self.emulator is not None else []
        return [r for log in [*self.request_logs, current] for r in log if not r["path"].startswith("/_emulator")]

    def posted(self) -> list[dict[str, Any]]:
        return [r for r in self.venue_requests() if self.venue.is_order_post(r)]

    def posted_ids(self) -> list[str]:
        """Our client order id of each order POSTed (Alpaca: as sent; Schwab: one per order the
        venue made, by the daemon's ledger, `schwab-<id>` for one it never bound)."""
        return self.venue.posted_ids(self)

    def broker_orders(self) -> dict[str, Any]:
        orders = self.client().get_orders(all_orders_request())
        assert len(orders) < 500, "the listing is capped at 500: page it"
        return {o.client_order_id: o for o in orders}

    def wait_until_emulator(self, t: datetime, timeout: float = 600.0) -> None:
        deadline = time.monotonic() + timeout
        while self.emulator_now() < t:
            assert time.monotonic() < deadline, f"the emulator's clock did not reach {t}"
            time.sleep(0.05)


def _status_digest(status: dict[str, Any] | None) -> dict[str, Any] | None:
    if status is None:
        return None
    rec = status.get("reconciliation") or {}
    return {"state": status.get("state"), "clock": status.get("clock"), "bars": status.get("bars_processed"),
            "last_bar_age": status.get("last_bar_age_seconds"), "open_orders": status.get("open_orders"),
            "position_mismatches": status.get("position_mismatches"), "error": status.get("error"),
            "disabled": status.get("disabled_strategies"), "halted": status.get("halted"),
            "reconcile_halted": rec.get("halted"), "reconcile_counts": rec.get("counts")}


# --- the checks -------------------------------------------------------------------------------


def rest_requests(rig: CrashRig, since: int) -> list[dict[str, Any]]:
    """The emulator's REST requests from the `since`-th entry of its log on (its own controls
    and the streams' upgrades left out)."""
    assert rig.emulator is not None
    return [r for r in rig.emulator.requests()[since:] if not r["path"].startswith("/_emulator")
            and r["path"] not in rig.venue.stream_paths]


def duplicates(ids: list[str]) -> dict[str, int]:
    return {cid: n for cid, n in Counter(ids).items() if n > 1}


def day_prefix(day: str) -> str:
    return date.fromisoformat(day).strftime("%Y%m%d") + "-"


def check_books(rig: CrashRig, day: str) -> list[str]:
    """Everything the crash test asserts after a day's close; a list of problems (empty: fine)."""
    problems: list[str] = []
    posted = rig.posted_ids()
    if twice := duplicates(posted):
        problems.append(f"client_order_ids POSTed more than once: {twice}")
    journal = rig.db.orders()
    broker = rig.venue.orders(rig)
    if unknown := sorted(set(broker) - set(journal)):
        problems.append(f"orders at the emulator unknown to the database: {unknown}")
    if unknown_posted := sorted(set(posted) - set(journal)):
        problems.append(f"POSTed ids not in the database: {unknown_posted}")
    today = {cid: row for cid, row in journal.items() if cid.startswith(day_prefix(day))}
    if not today:
        problems.append(f"the database holds no order of {day}")
    open_ = {cid: row["status"] for cid, row in today.items() if row["status"] not in FINAL}
    if open_:
        problems.append(f"journaled orders of {day} without a final status after the close: {open_}")
    for cid, (theirs, filled) in broker.items():
        row = journal.get(cid)
        if row is None:
            continue
        if theirs in AGREES and row["status"] not in AGREES[theirs]:
            problems.append(f"{cid}: the emulator says {theirs}, the database {row['status']}")
        if filled != int(row["filled_quantity"] or 0):
            problems.append(f"{cid}: filled {filled} at the emulator, {row['filled_quantity']} in the database")
    for cid, row in today.items():
        if cid not in broker and row["status"] not in ("refused", "rejected", "canceled", "expired"):
            problems.append(f"{cid} is {row['status']} in the database but the emulator never had it")
    fills = rig.db.fills(day_prefix(day))
    per_order = Counter()  # type: Counter[str]
    for f in fills:
        per_order[f["client_order_id"]] += int(f["quantity"])
    executions = Counter((f["client_order_id"], f["execution_id"]) for f in fills)
    if twice_booked := {k: n for k, n in executions.items() if n > 1}:
        problems.append(f"fills booked more than once: {twice_booked}")
    for cid, row in today.items():
        if per_order.get(cid, 0) != int(row["filled_quantity"] or 0):
            problems.append(f"{cid}: its fills sum to {per_order.get(cid, 0)} shares, "
                            f"the order says {row['filled_quantity']}")
    state = rig.emulator.state() if rig.emulator else {"positions": [], "open_orders": []}
    theirs_pos = {p["symbol"]: int(float(p["qty"])) for p in state["positions"]}
    if rig.db.newest_positions() != theirs_pos:
        problems.append(f"positions: database {rig.db.newest_positions()} != emulator {theirs_pos}")
    if state["positions"] or state["open_orders"]:
        problems.append(f"the account is not flat after the close of {day}: {state['positions']} "
                        f"open orders {state['open_orders']}")
    problems += check_report(rig, day, today)
    return problems


def check_report(rig: CrashRig, day: str, today: dict[str, dict[str, Any]]) -> list[str]:
    folder = rig.report_dir(day)
    if not folder.is_dir():
        return [f"no report folder {folder}"]
    names = {p.name for p in folder.iterdir()}
    try:
        run_info = json.loads((folder / "run.json").read_text())
    except (OSError, ValueError) as exc:
        return [f"{folder}/run.json unreadable: {exc}"]
    expected = REBUILT_FILES if run_info.get("rebuilt_from_database") else REPORT_FILES
    problems = []
    if missing := sorted(set(expected) - names):
        problems.append(f"report {folder} lacks {missing} (has {sorted(names)})")
    if "orders.csv" in names:
        import csv
        with (folder / "orders.csv").open() as f:
            rows = {r["client_order_id"]: r for r in csv.DictReader(f)}
        if sorted(set(today) - set(rows)):
            problems.append(f"report {day}/orders.csv lacks journaled orders {sorted(set(today) - set(rows))}")
        for cid, r in rows.items():
            if cid in today and r["status"] != today[cid]["status"]:
                problems.append(f"report {day}/orders.csv: {cid} is {r['status']}, the database says "
                                f"{today[cid]['status']}")
    if run_info.get("status") != "completed":
        problems.append(f"report {day}/run.json status {run_info.get('status')!r}: {run_info.get('error')}")
    return problems


def burst_problems(rig: CrashRig, window_secs: float = 1.0, limit: int = 4) -> list[str]:
    """No more than `limit` orders POSTed within `window_secs` real seconds either side of a
    restart's resume (orders for bars that passed while the daemon was down are never sent
    late); the window must be short enough that the strategy's normal flow stays under `limit`."""
    posts = [(datetime.fromisoformat(r["time"]), r.get("client_order_id") or r.get("order_id")) for r in rig.posted()]
    problems = []
    for s in rig.starts:
        t = datetime.fromisoformat(s.emulator_start)
        # the daemon's first second: from its start-up's end (resume) on, in emulator time
        begin = t + timedelta(seconds=(s.resume_secs or 0) * rig.speed)
        end = begin + timedelta(seconds=window_secs * rig.speed)
        burst = [cid for when, cid in posts if begin - (end - begin) <= when <= end]
        if len(burst) > limit:
            problems.append(f"start {s.n} ({s.emulator_start}): {len(burst)} orders POSTed within "
                            f"{window_secs} s of its resume: {burst}")
    return problems


def summary(rig: CrashRig, seed: int) -> dict[str, Any]:
    resumes = [s.resume_secs for s in rig.starts if s.resume_secs is not None]
    by_point = Counter(k.point for k in rig.kills)
    fired = Counter(k.point for k in rig.kills if k.fired)
    per_day = Counter(k.day for k in rig.kills)
    return {
        "seed": seed, "speed": rig.speed, "kills": len(rig.kills), "kills_per_day": dict(per_day),
        "restarts": len(rig.starts) - len(per_day), "starts": len(rig.starts),
        "kills_by_point": dict(by_point), "fired_by_point": dict(fired),
        "resume_median_secs": statistics.median(resumes) if resumes else None,
        "resume_max_secs": max(resumes) if resumes else None,
        "orders_posted": len(rig.posted_ids()), "orders_journaled": len(rig.db.orders()),
        "journal_statuses": dict(Counter(r["status"] for r in rig.db.orders().values())),
        "real_secs": rig.elapsed(),
        "daemon_events": daemon_event_counts(rig),
        "clock_behind_secs": [s.clock_behind_secs for s in rig.starts],
        "kill_log": [asdict(k) for k in rig.kills],
        "start_log": [{k: v for k, v in asdict(s).items()} for s in rig.starts],
    }


NOTABLE = ("position_mismatch", "order_id_skipped", "intent_never_sent", "order_resumed", "order_adopted",
           "fill_booked_from_rest", "reconciliation_mismatch", "reconciliation_halt", "report_rebuilt",
           "flatten_deferred", "session_start_failed", "session_stop_failed")


def daemon_event_counts(rig: CrashRig) -> dict[str, int]:
    """How often the daemon's logs (all its starts) name the events a resume is judged by, and
    its error-level events by name."""
    counts: Counter[str] = Counter()
    if rig.daemon is None:
        return {}
    for event in rig.daemon.log_events():
        name = str(event.get("event"))
        if name in NOTABLE:
            counts[name] += 1
        elif event.get("level") == "error":
            counts[f"error:{name}"] += 1
    return dict(sorted(counts.items()))


def print_summary(data: dict[str, Any], out: Callable[[str], None] = print) -> None:
    out("")
    out(f"=== crash test: seed {data['seed']} (CRASH_SEED={data['seed']} to repeat), speed {data['speed']}x, "
        f"{data['real_secs']:.0f} s ===")
    out(f"kills {data['kills']} {data['kills_per_day']}, daemon starts {data['starts']}, "
        f"restarts after a kill {data['restarts']}")
    out(f"time to resume (start -> status RUNNING): median {data['resume_median_secs']} s, "
        f"max {data['resume_max_secs']} s")
    out(f"orders POSTed {data['orders_posted']}, journaled {data['orders_journaled']} {data['journal_statuses']}")
    out(f"daemon log events: {data['daemon_events']}")
    out(f"{'kill point':<20}{'armed/kills':>12}{'fired':>8}")
    for point, n in sorted(data["kills_by_point"].items()):
        out(f"{point:<20}{n:>12}{data['fired_by_point'].get(point, 0):>8}")
    out(f"{'#':>3} {'day':<11}{'point':<18}{'hit':>4} {'fired':<6}{'emulator time':<27}{'real s':>8}"
        f"{'resume s':>9}  note")
    resume_after = {s["n"]: s["resume_secs"] for s in data["start_log"]}
    for i, k in enumerate(data["kill_log"], 1):
        out(f"{i:>3} {k['day']:<11}{k['point']:<18}{k['hit'] or '':>4} {str(k['fired']):<6}"
            f"{(k['emulator_time'] or '')[:26]:<27}{k['real_time'] or 0:>8.1f}"
            f"{k['resume_secs'] if k['resume_secs'] is not None else '-':>9}  {k['note']}")
    del resume_after
