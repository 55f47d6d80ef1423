"""Public credit-disclosure pages (no login). Everything shown comes from the latest published
snapshot; records past their publication period are never shown, even if the snapshot was taken
before the period ended."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from typing import TYPE_CHECKING

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from credit.charts import ScoreChart, score_chart
from credit.publication import snapshot_content_chunks
from credit.selectors import (
    latest_entry,
    latest_snapshot,
    rulebook_for_version,
    score_history,
    snapshot_blacklisted,
    snapshot_entries_in_order,
    snapshot_memo,
    snapshot_redlist,
    snapshot_search,
)
from credit.validators import normalise_uscc

if TYPE_CHECKING:
    from credit.models import Snapshot, SnapshotEntry

PAGE_SIZE = 20
HISTORY_YEARS = 3
CSV_COLUMNS = (
    "snapshot_id",
    "snapshot_sha256",
    "as_of",
    "uscc",
    "name",
    "region_code",
    "grade",
    "score",
    "rule_score",
    "model_adjustment",
    "blacklisted",
    "blacklist_reason",
    "blacklist_since",
    "is_backbone",
    "published_records",
)


def _page(request: HttpRequest, entries):
    return Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    snapshot = latest_snapshot()
    page = None
    if snapshot is not None and query:
        page = _page(request, snapshot_search(snapshot=snapshot, query=query))
    return render(
        request, "credit/search.html", {"query": query, "page": page, "snapshot": snapshot}
    )


def _latest_or_404() -> Snapshot:
    snapshot = latest_snapshot()
    if snapshot is None:
        raise Http404("no snapshot")
    return snapshot


@require_GET
def enterprise(request: HttpRequest, uscc: str) -> HttpResponse:
    try:
        code = normalise_uscc(uscc)
    except ValueError as exc:
        raise Http404("invalid code") from exc
    entry = latest_entry(uscc=code)
    if entry is None:
        raise Http404("unknown enterprise")
    snapshot = entry.snapshot
    main = _enterprise_main(entry, timezone.localdate(), get_language())
    return render(
        request, "credit/enterprise.html", {"entry": entry, "snapshot": snapshot, "main": main}
    )


def _enterprise_main(entry: SnapshotEntry, today: date, language: str) -> SafeString:
    """The page's content (standing, reasons, chart, records), which depends only on the
    latest snapshot (the history ends with it), the day and the language: rendered once per
    firm while that snapshot stays the latest. Rendering it — the chart's points and the
    records — is most of a page's cost; the layout around it (language form, CSRF token) is
    rendered for every request."""
    memo = snapshot_memo(entry.snapshot_id)
    key = ("public-page", entry.uscc, today, language)
    main = memo.get(key)
    if main is None:
        records, chart = _records_and_chart(entry, today)
        # render_to_string returns the SafeString of the autoescaping engine: the base
        # template inserts it as is.
        main = memo[key] = render_to_string(
            "credit/_enterprise_main.html",
            {"entry": entry, "records": records, "snapshot": entry.snapshot, "chart": chart},
        )
    return main


def _records_and_chart(entry: SnapshotEntry, today: date) -> tuple[list[dict], ScoreChart | None]:
    """What the page shows besides the entry itself: the records still published today and
    the score chart of the last HISTORY_YEARS."""
    records = [r for r in entry.records if r["effective_until"] > today.isoformat()]
    history = score_history(uscc=entry.uscc, since=today - timedelta(days=365 * HISTORY_YEARS))
    rulebook = rulebook_for_version(entry.snapshot.rulebook_version)
    chart = score_chart(
        history=[(p.as_of, p.score, p.grade) for p in history],
        bands=[(b.grade, b.min_score) for b in rulebook.grade_bands if b.min_score is not None],
    )
    return records, chart


@require_GET
def blacklist(request: HttpRequest) -> HttpResponse:
    snapshot = latest_snapshot()
    page = None
    if snapshot is not None:
        page = _page(request, snapshot_blacklisted(snapshot=snapshot))
    return render(request, "credit/blacklist.html", {"page": page, "snapshot": snapshot})


@require_GET
def redlist(request: HttpRequest) -> HttpResponse:
    snapshot = latest_snapshot()
    page = None
    if snapshot is not None:
        page = _page(request, snapshot_redlist(snapshot=snapshot))
    return render(request, "credit/redlist.html", {"page": page, "snapshot": snapshot})


def _snapshot_headers(response: HttpResponse, snapshot: Snapshot) -> HttpResponse:
    response["X-Snapshot-Id"] = str(snapshot.id)
    response["X-Snapshot-Sha256"] = snapshot.sha256
    response["ETag"] = f'"{snapshot.sha256}"'
    return response


@require_GET
def open_data_json(request: HttpRequest) -> HttpResponse:
    """Exactly the canonical bytes the snapshot hash covers: sha256sum of the download equals
    X-Snapshot-Sha256."""
    snapshot = _latest_or_404()
    response = StreamingHttpResponse(
        (chunk.encode("utf-8") for chunk in snapshot_content_chunks(snapshot)),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'inline; filename="credit-snapshot-{snapshot.id}.json"'
    return _snapshot_headers(response, snapshot)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_rows(snapshot: Snapshot):
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(CSV_COLUMNS)  # BOM: Excel opens the Chinese names right
    for entry in snapshot_entries_in_order(snapshot=snapshot):
        yield writer.writerow(
            [
                snapshot.id,
                snapshot.sha256,
                snapshot.as_of.isoformat(),
                entry.uscc,
                entry.name,
                entry.region_code,
                entry.grade,
                f"{entry.score:.2f}",
                f"{entry.rule_score:.2f}",
                f"{entry.model_adjustment:.2f}",
                int(entry.blacklisted),
                entry.blacklist_reason,
                entry.blacklist_since.isoformat() if entry.blacklist_since else "",
                int(entry.is_backbone),
                len(entry.records),
            ]
        )


@require_GET
def open_data_csv(request: HttpRequest) -> HttpResponse:
    snapshot = _latest_or_404()
    response = StreamingHttpResponse(
        (row.encode("utf-8") for row in _csv_rows(snapshot)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="credit-snapshot-{snapshot.id}.csv"'
    return _snapshot_headers(response, snapshot)
