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
