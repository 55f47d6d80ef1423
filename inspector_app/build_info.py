"""The committed build of the web app and the sources it came from.

`inspector_app/web/build.mjs` writes `build/build.json` with the SHA-256 of its sources
(every file under `web/src/`, plus `build.mjs`, `package.json` and `package-lock.json`) and of
every file it produced. `sources_sha256` recomputes the first the same way, so Python alone
(the test suite, the system check) can tell whether the committed build is stale.
"""

import hashlib
import json
from pathlib import Path

WEB_DIR = Path(__file__).resolve().parent / "web"
BUILD_INPUTS = ("build.mjs", "package.json", "package-lock.json")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def source_paths(web_dir: Path = WEB_DIR) -> list[str]:
    """Posix paths relative to `web_dir`, sorted as build.mjs sorts them (by code unit)."""
    sources = [path.relative_to(web_dir).as_posix() for path in (web_dir / "src").rglob("*")]
    files = [path for path in sources if (web_dir / path).is_file()]
    return sorted([*files, *BUILD_INPUTS])


def sources_sha256(web_dir: Path = WEB_DIR) -> str:
    lines = (
        f"{path}\0{_sha256((web_dir / path).read_bytes())}\n" for path in source_paths(web_dir)
    )
    return _sha256("".join(lines).encode())


def read_build_info(build_dir: Path) -> dict:
    return json.loads((build_dir / "build.json").read_text(encoding="utf-8"))


def files_differing_from_info(build_dir: Path, info: dict) -> list[str]:
    """Built files whose bytes differ from build.json, plus files missing or not listed."""
    listed = info["files"]
    present = {
        path.relative_to(build_dir).as_posix()
        for path in build_dir.rglob("*")
        if path.is_file() and path.name != "build.json"
    }
    changed = [
        path
        for path, digest in listed.items()
        if path not in present or _sha256((build_dir / path).read_bytes()) != digest
    ]
    return sorted([*changed, *(present - set(listed))])
