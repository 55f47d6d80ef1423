"""Text the database can store.

PostgreSQL refuses U+0000 in `text`, `varchar` and `jsonb` ("text fields cannot contain NUL
(0x00) bytes"). A request carrying one (`/credit/?q=%00`, a record's facts sent as JSON
"\\u0000") used to get as far as the query and end in a 500. Every way in is checked against
`nul_location` before any view runs: `backend.middleware.RefuseNulMiddleware` for the path, the
query string and form fields, `backend.errors.NulRefusingParser` for the JSON bodies of the
APIs. Nothing is stripped: the text is evidence and is refused whole.
"""

from collections.abc import Mapping
from typing import Any

NUL = "\x00"
MSG_NUL = "文本不能包含 NUL 字符（U+0000）。"
MSG_NUL_EN = "Text must not contain the NUL character (U+0000)."

Location = tuple[str | int, ...]


def nul_location(value: Any, loc: Location = ()) -> Location | None:
    """Where the first string holding U+0000 sits in `value` (strings, mapping keys and values,
    lists and tuples, nested), as the path of keys and indexes from `loc`; None if there is none.
    A key holding NUL is reported at the key itself."""
    if isinstance(value, str):
        return loc if NUL in value else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and NUL in key:
                return (*loc, key)
            found = nul_location(item, (*loc, key))
            if found is not None:
                return found
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = nul_location(item, (*loc, index))
            if found is not None:
                return found
    return None


def printable_location(loc: Location) -> list[str | int]:
    """`loc` for an error body: a key holding NUL is shown with the NUL escaped, so the answer
    is itself storable and readable in a log."""
    return [part.replace(NUL, "\\u0000") if isinstance(part, str) else part for part in loc]
