"""Domain errors: what services, selectors and access helpers raise when a rule of the product
refuses a request. They know nothing of HTTP; the interface edge (`backend.errors`) maps each
class to one status of the one problem format, the way the HackSoftware Styleguide's
ApplicationError is mapped by its API layer.

Every error has a stable snake_case `code` (clients and tests match on it), a `detail` in plain
Chinese for the person who sees it, and `extra` members with specifics (`missing_photos`, …).
Field-level problems go in `fields` (field name → message, or pairs when a field has several):
the edge places them where the client sent them (`loc: ["body", field]`), which the domain
cannot know.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class DomainError(Exception):
    """Base of every refusal a client can act on."""

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        fields: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        pairs = fields.items() if isinstance(fields, Mapping) else fields or ()
        self.fields: list[tuple[str, str]] = [(str(f), str(m)) for f, m in pairs]
        # Protocol hints a client needs to go on (tus's Upload-Offset, a Retry-After).
        self.headers = dict(headers or {})
        self.extra = extra

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.detail!r})"


class NotFound(DomainError):
    """The object does not exist, or exists outside the caller's scope (never told apart)."""


class Forbidden(DomainError):
    """The caller's role may not do this at all."""


class Conflict(DomainError):
    """The request is valid but the object's state refuses it (window closed, already done,
    an idempotency key reused with another body)."""


class Busy(DomainError):
    """Another request is working on the object right now (a PATCH already streaming into the
    same upload); the same request a moment later may succeed."""


class Invalid(DomainError):
    """The input breaks a rule of the product (an unknown code, a date in the future)."""


class TooLarge(DomainError):
    """The input is bigger than the product accepts."""


class UnsupportedType(DomainError):
    """A file of a kind the product does not take."""


class IntegrityFailed(DomainError):
    """Received bytes do not match what the client declared (size, SHA-256)."""


class Unavailable(DomainError):
    """Something the request needs is not ready yet (no trained model); retrying later may
    succeed."""
