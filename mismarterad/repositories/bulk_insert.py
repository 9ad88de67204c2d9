"""Bulk inserts through the driver's own executemany, for a run's tens of thousands of rows.

SQLAlchemy's executemany binds every value of every row through its column's type in Python
and then builds each row's parameters again. Here only the columns whose type has a bind
processor (the UTC instants) go through it, one column at a time, and the rows go to the driver
as they are, in the statement SQLAlchemy compiles for the dialect (SQLite's `?`, psycopg's named
parameters): the stored values are exactly those of SQLAlchemy's insert, in about 80 % of its
time (38,000 orders and 38,000 fills of a backtest).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

__all__ = ["insert_many"]


def insert_many(db: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT `rows` (every row with the same keys, each a column of `table`) in `db`'s
    transaction. Columns left out get their database default, so give every column that has a
    Python-side default."""
    if not rows:
        return
    connection = db.connection()
    dialect = connection.dialect
    keys = list(rows[0])
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    columns = []
    for key in keys:
        process = table.c[key].type.dialect_impl(dialect).bind_processor(dialect)
        values = [row[key] for row in rows]
        columns.append(values if process is None else [process(v) for v in values])
    if compiled.positional:
        order = [keys.index(name) for name in compiled.positiontup or ()]
        params: list[Any] = list(zip(*(columns[i] for i in order), strict=True))
    else:
        params = [dict(zip(keys, values, strict=True)) for values in zip(*columns, strict=True)]
    connection.exec_driver_sql(compiled.string, params)
