"""The daemon's paper accounts in the database (`paper_accounts`, `paper_days`, `paper_positions`):
implements core/paper_account.PaperAccountStore. A balance is its day row's cash plus its
position rows (`at` = "opening" or "closing"), written and read in one transaction each."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mismarterad.core.orders import Position
from mismarterad.core.paper_account import PaperAccountOpened, PaperBalance, PaperDay
from mismarterad.db.engine import DbSessionFactory
from mismarterad.db.tables import PaperAccountRow, PaperDayRow, PaperPositionRow

__all__ = ["PaperAccountRepository"]

_OPENING, _CLOSING = "opening", "closing"


class PaperAccountRepository:
    def __init__(self, db_sessions: DbSessionFactory) -> None:
        self._db_sessions = db_sessions

    def opened(self, account: str) -> PaperAccountOpened | None:
        with self._db_sessions() as db:
            row = db.get(PaperAccountRow, account)
            return None if row is None else PaperAccountOpened(row.starting_cash, row.opened_utc)

    def open(self, account: str, starting_cash: float, opened_utc: datetime) -> None:
        with self._db_sessions.begin() as db:
            db.execute(delete(PaperPositionRow).where(PaperPositionRow.account == account))
            db.execute(delete(PaperDayRow).where(PaperDayRow.account == account))
            row = db.get(PaperAccountRow, account)
            if row is None:
                db.add(PaperAccountRow(account=account, starting_cash=starting_cash, opened_utc=opened_utc))
            else:
                row.starting_cash, row.opened_utc = starting_cash, opened_utc

    def day(self, account: str, day: date) -> PaperDay | None:
        with self._db_sessions() as db:
            row = db.get(PaperDayRow, (account, day))
            return None if row is None else _day(db, row)

    def latest_day(self, account: str, before: date | None = None) -> PaperDay | None:
        query = select(PaperDayRow).where(PaperDayRow.account == account)
        if before is not None:
            query = query.where(PaperDayRow.day < before)
        with self._db_sessions() as db:
            row = db.scalars(query.order_by(PaperDayRow.day.desc()).limit(1)).first()
            return None if row is None else _day(db, row)

    def begin_day(self, account: str, day: date, id_prefix: str, opening: PaperBalance) -> PaperDay:
        with self._db_sessions.begin() as db:
            row = db.get(PaperDayRow, (account, day))
            if row is None:
                row = PaperDayRow(account=account, day=day, id_prefix=id_prefix, opening_cash=opening.cash)
                db.add(row)
                _write_positions(db, account, day, _OPENING, opening.positions)
            row.closing_cash = None  # the id prefix stays the first day-run's
            _write_positions(db, account, day, _CLOSING, ())
            db.flush()
            return _day(db, row)

    def close_day(self, account: str, day: date, closing: PaperBalance) -> None:
        with self._db_sessions.begin() as db:
            row = db.get(PaperDayRow, (account, day))
            if row is None:  # reset since the day began: the new account is not this day's
                return
            row.closing_cash = closing.cash
            _write_positions(db, account, day, _CLOSING, closing.positions)


def _write_positions(db: Session, account: str, day: date, at: str, positions: tuple[Position, ...]) -> None:
    db.execute(delete(PaperPositionRow).where(PaperPositionRow.account == account, PaperPositionRow.day == day,
                                              PaperPositionRow.at == at))
    db.add_all(PaperPositionRow(account=account, day=day, at=at, symbol=p.symbol, quantity=p.quantity,
                                avg_price=p.avg_price) for p in positions)


def _day(db: Session, row: PaperDayRow) -> PaperDay:
    held: dict[str, list[Position]] = {_OPENING: [], _CLOSING: []}
    for p in db.scalars(select(PaperPositionRow).where(PaperPositionRow.account == row.account,
                                                       PaperPositionRow.day == row.day)
                        .order_by(PaperPositionRow.symbol)):
        held[p.at].append(Position(p.symbol, p.quantity, p.avg_price))
    closing = None if row.closing_cash is None else PaperBalance.of(row.closing_cash, held[_CLOSING])
    return PaperDay(row.day, row.id_prefix, PaperBalance.of(row.opening_cash, held[_OPENING]), closing)
