"""COPY text and SQL names shared by the bulk read and the bulk write."""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import sql

COPY_NULL = "\\N"
# Firms per block of COPY text (about 2 MB): the server parses one while the next is made, and
# the text held at once stays small.
COPY_CHUNK = 2000


def table(model: type) -> sql.Identifier:
    return sql.Identifier(model._meta.db_table)


def identifiers(names: Sequence[str]) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(name) for name in names)


def centi_text(centi: int) -> str:
    sign = "-" if centi < 0 else ""
    whole, cents = divmod(abs(centi), 100)
    return f"{sign}{whole}.{cents:02d}"


def copy_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
