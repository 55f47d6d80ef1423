"""Request signing of the tender API, pure Python (no Django): the server verifies with it and
clients, tests and benchmarks sign with it. See credit.tender_auth for the rules."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time


def canonical_query(query_string: str) -> str:
    pieces = [piece for piece in query_string.split("&") if piece]
    return "&".join(sorted(pieces, key=lambda piece: piece.split("=", 1)[0]))


def string_to_sign(
    *, method: str, path: str, query_string: str, timestamp: str, nonce: str, body: bytes
) -> str:
    return "\n".join(
        [
            method.upper(),
            path,
            canonical_query(query_string),
            timestamp,
            nonce,
            hashlib.sha256(body).hexdigest(),
        ]
    )


def sign(*, secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def signed_headers(
    *,
    client_id: str,
    secret: str,
    method: str,
    path: str,
    query_string: str = "",
    body: bytes = b"",
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """Headers a client sends (used by tests, benchmarks and as a reference implementation)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(16)
    message = string_to_sign(
        method=method, path=path, query_string=query_string, timestamp=ts, nonce=nonce, body=body
    )
    return {
        "X-Client-Id": client_id,
        "X-Timestamp": ts,
        "X-Nonce": nonce,
        "X-Signature": sign(secret=secret, message=message),
    }
