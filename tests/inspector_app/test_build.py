"""The committed build of the inspector app (`inspector_app/build`) is the build of the
committed sources: `make run` serves it on machines without node, so a stale or hand-edited
build would ship code nobody reviewed."""

import gzip
import json
import os
import shutil
import subprocess

import pytest

from inspector_app.build_info import (
    WEB_DIR,
    files_differing_from_info,
    read_build_info,
    sources_sha256,
)

BUILD_DIR = WEB_DIR.parent / "build"
SHELL_GZIP_LIMIT = 300 * 1024  # the budget for what a 2G phone downloads first
NODE = shutil.which("node")


def test_the_committed_build_records_the_current_sources():
    info = read_build_info(BUILD_DIR)

    assert info["sources_sha256"] == sources_sha256(), (
        "inspector_app/build is stale: run `make app` and commit the build"
    )


def test_the_committed_files_are_the_ones_the_build_recorded():
    assert files_differing_from_info(BUILD_DIR, read_build_info(BUILD_DIR)) == []


def test_a_changed_source_changes_the_recorded_hash(tmp_path):
    web = tmp_path / "web"
    shutil.copytree(WEB_DIR, web, ignore=shutil.ignore_patterns("node_modules"))
    before = sources_sha256(web)
    (web / "src" / "i18n.js").write_text("// changed\n", encoding="utf-8")

    assert sources_sha256(web) != before


def test_the_app_shell_stays_within_its_download_budget():
    info = read_build_info(BUILD_DIR)
    shell = [BUILD_DIR / path for path in info["shell"]["files"]]
    gzipped = sum(len(gzip.compress(path.read_bytes(), compresslevel=9)) for path in shell)

    assert any(path.suffix == ".js" for path in shell) and any(p.suffix == ".css" for p in shell)
    assert gzipped <= SHELL_GZIP_LIMIT


def test_the_service_worker_precaches_every_built_asset():
    info = read_build_info(BUILD_DIR)
    worker = (BUILD_DIR / "sw.js").read_text(encoding="utf-8")
    assets = [path for path in info["files"] if path.startswith("assets/")]

    assert assets
    for path in assets:
        assert f'"/m/{path}"' in worker, path
    assert '"/m/"' in worker


def test_the_manifest_makes_an_installable_app():
    manifest = json.loads((BUILD_DIR / "manifest.webmanifest").read_text(encoding="utf-8"))

    assert (manifest["scope"], manifest["display"], manifest["lang"]) == (
        "/m/",
        "standalone",
        "zh-CN",
    )
    assert manifest["start_url"].startswith("/m/")
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert (BUILD_DIR / icon["src"].removeprefix("/m/")).is_file()


@pytest.mark.skipif(NODE is None, reason="node is not installed: the rebuild check needs it")
def test_rebuilding_from_the_sources_gives_the_committed_bytes(tmp_path):
    if not (WEB_DIR / "node_modules" / "esbuild").is_dir():
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(
                "inspector_app/web/node_modules is missing: run `npm ci` there (.ci/run does)"
            )
        pytest.skip("inspector_app/web/node_modules is missing: `make app` installs it")
    out = tmp_path / "build"
    subprocess.run(
        [NODE, "build.mjs", "--out", str(out)], cwd=WEB_DIR, check=True, capture_output=True
    )

    committed = sorted(
        p.relative_to(BUILD_DIR).as_posix() for p in BUILD_DIR.rglob("*") if p.is_file()
    )
    rebuilt = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert rebuilt == committed
    for path in committed:
        assert (out / path).read_bytes() == (BUILD_DIR / path).read_bytes(), path
