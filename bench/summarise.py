"""Write docs/performance.md from bench/results/*.json (run by `make bench` after the benches).

Each benchmark writes its own JSON; this flattens the scalar figures of each into a table so the
document always shows what the last run measured, with the command that produced it.
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
OUT = ROOT / "docs" / "performance.md"
MAX_ROWS = 60  # a results file with per-sample arrays would otherwise drown the table


def flatten(value, prefix=""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from flatten(item, f"{prefix}{key}.")
    elif isinstance(value, int | float | str | bool) or value is None:
        yield prefix.rstrip("."), value


def fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def section(path: Path) -> list[str]:
    data = json.loads(path.read_text())
    command = data.get("command", f"python bench/bench_{path.stem}.py")
    lines = [f"## {path.stem}", "", f"Command: `{command}`", ""]
    if data.get("summary"):
        lines += [str(data["summary"]), ""]
    if path.stem == "scoring" and isinstance(data.get("database"), dict):
        lines += scoring_headline(data["database"])
    if path.stem == "inspector_app" and isinstance(data.get("uploads"), dict):
        lines += inspector_app_headline(data)
    if path.stem == "report" and isinstance(data.get("report"), dict):
        lines += report_headline(data)
    if path.stem == "statistics" and isinstance(data.get("dashboard"), dict):
        lines += statistics_headline(data)
    lines += ["| figure | value |", "|---|---|"]
    rows = [(k, v) for k, v in flatten(data) if k not in {"command", "summary"}]
    for key, value in rows[:MAX_ROWS]:
        lines.append(f"| `{key}` | {fmt(value)} |")
    if len(rows) > MAX_ROWS:
        lines.append(f"| … | {len(rows) - MAX_ROWS} more in `bench/results/{path.name}` |")
    return [*lines, ""]


# The figures issue 3 asks for, shown first: the flattened table below is cut at MAX_ROWS.
SCORING_HEADLINE = (
    ("full recompute, first run (every firm stale), s", "full_recompute_first_run_seconds"),
    ("full recompute, steady run (nothing changed), s", "full_recompute_steady_run_seconds"),
    ("pandas baseline (COPY csv, read_csv, group-by sum), s", "baseline_seconds"),
    ("first run / baseline", "ratio_first_run_to_baseline"),
    ("steady run / baseline", "ratio_steady_run_to_baseline"),
    ("peak RSS, first run, MiB", "first_run_peak_rss_mib"),
    ("peak RSS, steady run, MiB", "steady_run_peak_rss_mib"),
    ("peak RSS, baseline, MiB", "baseline_peak_rss_mib"),
    ("load (COPY) seconds", "load_seconds"),
)


def scoring_headline(database: dict) -> list[str]:
    lines = [
        f"Full recompute on PostgreSQL ({database.get('enterprises')} enterprises, "
        f"{database.get('records')} records; targets: ratio ≤ {database.get('target_ratio')}, "
        f"< {database.get('target_seconds')} s):",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    lines += [f"| {label} | {fmt(database.get(key))} |" for label, key in SCORING_HEADLINE]
    return [*lines, ""]


# The inspector app's figures (issue: shell budget, 3G time to interactive, flaky-link goodput);
# its flattened table is long (one row per precached file), so these come first.
INSPECTOR_APP_HEADLINE = (
    ("shell (index.html, script, style sheet) as served, bytes", "shell.shell_served_bytes"),
    ("shell, gzip -9, bytes", "shell.shell_gzip9_bytes"),
    ("everything precached, gzip -9, bytes", "shell.precache_gzip9_bytes"),
    ("precache gzipped ÷ budget", "shell.precache_gzip_share_of_budget"),
    ("Content-Encoding as served", "shell.content_encoding_served"),
    ("cold load to interactive, median / p95 ms", "time_to_interactive.app_cold"),
    ("baseline (trivial file), cold, median / p95 ms", "time_to_interactive.baseline_cold"),
    ("cold ÷ baseline (medians)", "time_to_interactive.ratio_app_cold_to_baseline_cold"),
    ("warm load (service worker), median / p95 ms", "time_to_interactive.app_warm"),
    ("baseline, warm, median / p95 ms", "time_to_interactive.baseline_warm"),
    ("warm ÷ baseline (medians)", "time_to_interactive.ratio_app_warm_to_baseline_warm"),
    ("offline load, median / p95 ms", "time_to_interactive.app_offline"),
    ("goodput without drops, MiB/s", "uploads.no_drops.goodput_mib_per_s"),
    ("goodput with drops, MiB/s", "uploads.drops.goodput_mib_per_s"),
    ("drops ÷ no drops", "uploads.ratio_drops_to_no_drops"),
    ("connections cut", "uploads.drops.drops"),
    ("tus requests answered, with drops", "uploads.drops.tus_requests"),
    (
        "upstream bytes beyond the photos ÷ photo bytes, with drops",
        "uploads.drops.upstream_overhead",
    ),
    ("every photo arrived once with its SHA-256", "uploads.all_arrived_once"),
)


def _dig(data: dict, dotted: str):
    for key in dotted.split("."):
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _headline_value(value) -> str:
    if isinstance(value, dict) and "median_ms" in value:  # a load: median / p95, opened
        opened = (
            f" ({value['opened']}/{value['of']} opened)" if value["opened"] < value["of"] else ""
        )
        return f"{fmt(value['median_ms'])} / {fmt(value['p95_ms'])}{opened}"
    if isinstance(value, dict) and "of" in value:  # a load that never opened
        return f"0/{value['of']} opened: {'; '.join(value.get('errors', []))}"
    if isinstance(value, dict):  # counts
        return ", ".join(f"{key} × {count}" for key, count in value.items())
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return fmt(value)


def inspector_app_headline(data: dict) -> list[str]:
    uploads, tti, shell = data["uploads"], data.get("time_to_interactive", {}), data["shell"]
    lines = [
        f"Budget {shell.get('budget_gzip_bytes')} bytes gzipped; {tti.get('profile')}, "
        f"{tti.get('runs')} runs each; {uploads.get('photos')} photos "
        f"({uploads.get('photo_mib_total')} MiB) at {uploads.get('rate_mib_per_s')} MiB/s, "
        f"cut every {uploads.get('drop_every_mib')} MiB (target ratio ≥ "
        f"{uploads.get('target_ratio')}):",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    lines += [
        f"| {label} | {_headline_value(_dig(data, key))} |" for label, key in INSPECTOR_APP_HEADLINE
    ]
    return [*lines, ""]


# The credit report PDF (issue 16: one firm's report in ≤ 500 ms), beside its baseline.
REPORT_HEADLINE = (
    ("report PDF, median / p95 ms", "report"),
    ("baseline: the firm's public page (first render), median / p95 ms", "baseline_public_page"),
    ("report ÷ page (medians)", "ratio_report_to_page_median"),
    ("first report of a fresh process, ms", "first_report_ms"),
    ("report size, median bytes", "report_bytes.median"),
    ("phases (median ms): content assembly", "phases_median_ms.assemble"),
    ("template", "phases_median_ms.template"),
    ("WeasyPrint layout", "phases_median_ms.layout"),
    ("PDF writing (font subset included)", "phases_median_ms.write_pdf"),
)


def report_headline(data: dict) -> list[str]:
    world = data.get("world", {})
    lines = [
        f"{data.get('firms')} firms of a {world.get('enterprises')}-firm world "
        f"({world.get('database')}, {world.get('snapshots')} snapshots), each once after "
        f"{data.get('warmup_firms')} warm-up firms; target: p95 ≤ {data.get('target_p95_ms')} ms:",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    lines += [f"| {label} | {_timing(_dig(data, key))} |" for label, key in REPORT_HEADLINE]
    return [*lines, ""]


def _timing(value) -> str:
    if isinstance(value, dict) and "median_ms" in value:
        return f"{fmt(value['median_ms'])} / {fmt(value['p95_ms'])}"
    return fmt(value)


# The bureau statistics dashboard (issue 17: p95 ≤ 300 ms warm, ≤ 2 s cold on the province).
STATISTICS_HEADLINE = (
    ("province dashboard, warm, median / p95 ms", "dashboard.warm"),
    ("province dashboard, cold (Redis flushed), median / p95 ms", "dashboard.cold"),
    ("province dashboard, first request after the load, ms", "dashboard.first_ever_ms"),
    ("one league (150100), warm, median / p95 ms", "dashboard_league.warm"),
    ("one league (150100), cold, median / p95 ms", "dashboard_league.cold"),
    ("CSV export, cold, median / p95 ms", "export_csv.cold"),
    ("CSV export, warm, median / p95 ms", "export_csv.warm"),
    ("CSV export, bytes", "export_csv.cold.bytes"),
    ("XLSX export, cold, median / p95 ms", "export_xlsx.cold"),
    ("XLSX export, warm, median / p95 ms", "export_xlsx.warm"),
    ("XLSX export, bytes", "export_xlsx.cold.bytes"),
    ("inspections list, first page, cold, median / p95 ms", "drilldown_inspections.cold"),
    ("inspections list, first page, warm, median / p95 ms", "drilldown_inspections.warm"),
    ("baseline: SELECT count(*) of the inspections, median ms", "baseline.median_ms"),
    ("cold p95 ÷ baseline", "ratio_cold_p95_to_baseline"),
    ("grade_counts_store per publish, mean ms", "world.grade_counts_store.mean_ms"),
    ("grade_counts_store per publish, max ms", "world.grade_counts_store.max_ms"),
    ("world load (COPY), s", "world.load_seconds"),
)


def statistics_headline(data: dict) -> list[str]:
    rows, targets = _dig(data, "world.rows") or {}, data.get("targets", {})
    passed = ", ".join(f"{name} {'✓' if ok else '✗'}" for name, ok in data["passed"].items())
    lines = [
        f"Whole province, {data.get('period')}, on {rows.get('credit_enterprise')} firms, "
        f"{rows.get('inspections_project')} compounds, {rows.get('credit_creditrecord')} records, "
        f"{rows.get('inspections_inspection')} inspections, {rows.get('credit_snapshotentry')} "
        f"snapshot entries; targets: warm p95 ≤ {targets.get('warm_p95_ms')} ms, cold p95 ≤ "
        f"{targets.get('cold_p95_ms')} ms ({passed}):",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    for label, key in STATISTICS_HEADLINE:
        value = _dig(data, key)
        if isinstance(value, dict) and "p50_ms" in value:
            value = f"{_whole(value['p50_ms'])} / {_whole(value['p95_ms'])}"
        lines.append(f"| {label} | {_whole(value)} |")
    return [*lines, ""]


def _whole(value) -> str:
    """Large figures in full (a cold page of 26,730 ms, not 2.673e+04), small ones as fmt."""
    if isinstance(value, float | int) and not isinstance(value, bool) and abs(value) >= 1000:
        return f"{value:,.0f}"
    return fmt(value)


def main() -> int:
    files = sorted(RESULTS.glob("*.json"))
    head = OUT.read_text().split("<!-- results -->")[0] if OUT.exists() else "# Performance\n\n"
    body = [head.rstrip() + "\n", "<!-- results -->", ""]
    for path in files:
        body += section(path)
    OUT.write_text("\n".join(body))
    print(f"wrote {OUT.relative_to(ROOT)} from {len(files)} result files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
