"""Finding the built inspector web app's files: the three shell files at the build's top and
the hashed assets under `assets/`.

Only names the build writes are ever opened: the shell files by fixed name, assets only inside
`assets/`, as regular files, with a known extension. Anything else (`..`, an absolute path, a
hidden file, a directory, a symlink leading out) is "not found", so a request can never read
another file of the server. Files are small and change only on a deploy, so they are read once
and kept in memory, keyed by path, modification time and size: a rebuild is picked up at once.
"""

import gzip
import hashlib
import stat
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings

ASSETS_DIR = "assets"
# The three files served at fixed addresses, with their types. The service worker is JavaScript
# and the manifest its own JSON type, as browsers expect for installable apps.
SHELL_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "sw.js": "text/javascript; charset=utf-8",
    "manifest.webmanifest": "application/manifest+json",
}
# What the build puts under assets/. Another extension is not served (404): the list says what
# a browser may be handed from here, and `nosniff` makes a wrong type fail rather than guess.
ASSET_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
}
# Text compresses to a third or less; images are compressed already. The app's files are public
# and hold no secret, so compressing them cannot leak one (BREACH needs a secret in the page).
COMPRESSIBLE = ("text/", "application/manifest+json", "application/json", "image/svg+xml")
# 16 hex digits (64 bits) tell apart every version of a file a build will ever produce.
ETAG_HEX_DIGITS = 16
# A build holds a few dozen files; old versions of a rebuilt file drop out as new ones come.
CACHED_FILES = 256


class NotBuilt(Exception):
    """The build directory, or a shell file in it, is missing: the app was never built here."""


@dataclass(frozen=True)
class AppFile:
    body: bytes
    content_type: str
    etag: str
    # The gzip-compressed body (made once, with no timestamp, so it is the same on every web
    # process), or None when compressing would not make it smaller.
    gzipped: bytes | None = None

    @property
    def gzip_etag(self) -> str:
        # Each encoding is its own representation with its own validator (RFC 9110 8.8.3).
        return f'{self.etag[:-1]}-gzip"'


def build_root() -> Path:
    """Read on every request, so tests (and a changed setting) point it elsewhere at once."""
    return Path(settings.INSPECTOR_APP_BUILD_DIR)


def shell_file(name: str) -> AppFile:
    """index.html, sw.js or manifest.webmanifest. Without any of them the build is unfinished,
    which the caller shows as "not built" rather than as a missing page."""
    found = _read(build_root() / name, SHELL_TYPES[name])
    if found is None:
        raise NotBuilt(name)
    return found


def asset_file(relative: str) -> AppFile | None:
    """The asset at `relative` (the URL's path under assets/), or None when there is no such
    servable file. Raises NotBuilt when there is no build at all."""
    root = build_root()
    if not root.is_dir():
        raise NotBuilt(ASSETS_DIR)
    content_type = ASSET_TYPES.get(Path(relative).suffix.lower())
    path = _asset_path(root / ASSETS_DIR, relative)
    if content_type is None or path is None:
        return None
    return _read(path, content_type)


def _asset_path(assets: Path, relative: str) -> Path | None:
    """The file `relative` names inside `assets`, or None when it would leave the folder.

    Each segment must be a plain name (no empty, `.`, `..` or hidden segment, no backslash),
    and, against symlinks, the resolved path must still lie inside the resolved folder."""
    segments = relative.split("/")
    if any(not s or s.startswith(".") or "\\" in s or "\x00" in s for s in segments):
        return None
    base = assets.resolve()
    candidate = base.joinpath(*segments).resolve()
    return candidate if candidate.is_relative_to(base) else None


def _read(path: Path, content_type: str) -> AppFile | None:
    """A regular file's content (cached), or None when it is missing, not a regular file or
    unreadable; a file removed between the stat and the read is missing too."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            return None
        return _load(str(path), info.st_mtime_ns, info.st_size, content_type)
    except (OSError, ValueError):  # ValueError: a name the OS cannot take (embedded NUL)
        return None


@lru_cache(maxsize=CACHED_FILES)
def _load(path: str, mtime_ns: int, size: int, content_type: str) -> AppFile:
    # mtime and size are part of the key only: a rebuilt file gets a new entry.
    body = Path(path).read_bytes()
    digest = hashlib.sha256(body).hexdigest()[:ETAG_HEX_DIGITS]
    return AppFile(
        body=body,
        content_type=content_type,
        etag=f'"{digest}"',
        gzipped=_gzipped(body, content_type),
    )


def _gzipped(body: bytes, content_type: str) -> bytes | None:
    if not content_type.startswith(COMPRESSIBLE):
        return None
    packed = gzip.compress(body, compresslevel=9, mtime=0)
    return packed if len(packed) < len(body) else None
