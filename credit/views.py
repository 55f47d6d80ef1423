"""Public credit-disclosure pages (no login): the home with its search, a firm's page, the
blacklist, the red list and the open data. Every credit fact shown comes from the latest
published snapshot; records past their publication period are never shown, even if the
snapshot was taken before the period ended. What the registry says of a firm today (legal
representative, region, compounds) and where each record's objection or repair stands are read
as they are now, and the page says so. Reads go through `credit.selectors`; the words are
`credit.portal`'s."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import get_language, pgettext
from django.views.decorators.http import require_GET

from credit import portal
from credit.chart_markup import history_rows, score_chart_svg
from credit.charts import BarChart, ScoreChart, bar_chart, score_chart, tone_of
from credit.choices import EnterpriseStatus
from credit.policy import POLICY_TITLE
from credit.publication import snapshot_content_chunks
from credit.selectors import (
    LIST_BLACKLIST,
    LIST_REDLIST,
    BlacklistExit,
    SnapshotFigures,
    SnapshotRegions,
    compounds_managed,
    latest_entry,
    latest_published,
    record_appeals,
    registry_facts,
    rulebook_for_version,
    score_history,
    snapshot_blacklist_exits,
    snapshot_blacklisted,
    snapshot_entries_in_order,
    snapshot_exact_match,
    snapshot_figures,
    snapshot_memo,
    snapshot_redlist,
    snapshot_regions,
    snapshot_search,
)
from credit.validators import normalise_uscc

if TYPE_CHECKING:
    from credit.models import Snapshot, SnapshotEntry
    from credit.rulebook import Rulebook

PAGE_SIZE = 20
HISTORY_YEARS = 3
QUERY_MAX = 100  # characters of a search kept: longer than any name or code
RECENT = 5  # blacklist entries and exits on the home
EXITS_SHOWN = 20  # exits on the blacklist page
EXITS_WINDOW_DAYS = 365  # how far back an exit counts as recent
BLACKLIST_TONE = 5  # the bar of blacklisted firms (grades take tones 0-4)
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


@dataclass(frozen=True)
class Row:
    """A firm in a list, with the name of the region it is registered in."""

    entry: SnapshotEntry
    region: str
    reason: str = ""  # a blacklist reason, in plain words


def _rows(page, regions: SnapshotRegions, rulebook: Rulebook | None = None) -> list[Row]:
    """The page's firms with their region names (and, given the rulebook, their blacklist
    reasons with rule codes turned into titles)."""
    return [
        Row(
            e,
            regions.names.get(e.region_code, e.region_code),
            portal.plain_reason(e.blacklist_reason, rulebook) if rulebook else "",
        )
        for e in page
    ]


@dataclass(frozen=True)
class Filters:
    query: str = ""
    region: str = ""
    grade: str = ""
    listing: str = ""

    @property
    def active(self) -> bool:
        return any((self.query, self.region, self.grade, self.listing))

    @property
    def page_query(self) -> str:
        """The filters as the start of a pager link's query ("q=…&region=…&"), "" for none."""
        pairs = [
            (name, value)
            for name, value in (
                ("q", self.query),
                ("region", self.region),
                ("grade", self.grade),
                ("list", self.listing),
            )
            if value
        ]
        return urlencode(pairs) + "&" if pairs else ""


def _filters(request: HttpRequest, home: Home) -> Filters:
    """What the visitor asked for; a filter value the lists do not offer is ignored."""
    region = request.GET.get("region", "")
    grade = request.GET.get("grade", "")
    listing = request.GET.get("list", "")
    return Filters(
        query=request.GET.get("q", "").strip()[:QUERY_MAX],
        region=region if region in {r.code for r in home.regions.leagues} else "",
        grade=grade if grade in home.grades else "",
        listing=listing if listing in (LIST_BLACKLIST, LIST_REDLIST) else "",
    )


@dataclass(frozen=True)
class Home:
    """What the home shows of a snapshot besides a search: computed once per process while
    the snapshot stays the latest."""

    rulebook: Rulebook
    grades: tuple[str, ...]
    figures: SnapshotFigures
    bars: BarChart
    recent_entries: tuple[Row, ...]
    recent_exits: tuple[tuple[BlacklistExit, str], ...]  # (exit, region name)
    regions: SnapshotRegions


def _home(snapshot: Snapshot) -> Home:
    memo = snapshot_memo(snapshot.id)
    home = memo.get("home")
    if home is None:
        rulebook = rulebook_for_version(snapshot.rulebook_version)
        grades = rulebook.grade_names
        figures = snapshot_figures(snapshot=snapshot, grades=grades)
        regions = _regions(snapshot)
        bars = bar_chart(
            [(g, n, tone_of(i, len(grades))) for i, (g, n) in enumerate(figures.by_grade)]
            + [(LIST_BLACKLIST, figures.blacklisted, BLACKLIST_TONE)]
        )
        home = memo["home"] = Home(
            rulebook=rulebook,
            grades=grades,
            figures=figures,
            bars=bars,
            recent_entries=tuple(_rows(snapshot_blacklisted(snapshot=snapshot)[:RECENT], regions)),
            recent_exits=tuple(_exits(snapshot, regions, RECENT)),
            regions=regions,
        )
    return home


def _regions(snapshot: Snapshot) -> SnapshotRegions:
    """The names of the regions the snapshot's firms are registered in: kept per snapshot."""
    memo = snapshot_memo(snapshot.id)
    regions = memo.get("regions")
    if regions is None:
        regions = memo["regions"] = snapshot_regions(snapshot=snapshot)
    return regions


def _exits(snapshot: Snapshot, regions: SnapshotRegions, limit: int):
    """The latest exits from the blacklist, with region names: kept per snapshot."""
    memo = snapshot_memo(snapshot.id)
    exits = memo.get(("exits", limit))
    if exits is None:
        found = snapshot_blacklist_exits(
            snapshot=snapshot,
            since=snapshot.as_of - timedelta(days=EXITS_WINDOW_DAYS),
            limit=limit,
        )
        exits = memo[("exits", limit)] = [
            (e, regions.names.get(e.region_code, e.region_code)) for e in found
        ]
    return exits


def _context(snapshot: Snapshot | None, **extra) -> dict:
    """What every public page shows of the snapshot (the data notes at the bottom)."""
    if snapshot is None:
        return {"snapshot": None, "policy_title": POLICY_TITLE, **extra}
    rulebook = rulebook_for_version(snapshot.rulebook_version)
    english = get_language() == portal.ENGLISH
    return {
        "snapshot": snapshot,
        "policy_title": POLICY_TITLE,
        "published_at": timezone.localtime(snapshot.published_at),
        "rulebook_title": rulebook.title_en if english else rulebook.title_zh,
        **extra,
    }


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """The home: headline figures, the grade distribution, recent blacklist entries and exits,
    and the search. A query naming one firm exactly opens its page (302)."""
    snapshot = latest_published()
    if snapshot is None:
        return render(request, "credit/search.html", _context(None, filters=Filters()))
    home = _home(snapshot)
    filters = _filters(request, home)
    if filters.query:
        uscc = snapshot_exact_match(snapshot=snapshot, query=filters.query)
        if uscc is not None:
            return redirect("credit:enterprise", uscc=uscc)
    page = rows = None
    if filters.active:
        page = _page(
            request,
            snapshot_search(
                snapshot=snapshot,
                query=filters.query,
                region=filters.region,
                grade=filters.grade,
                listing=filters.listing,
            ),
        )
        rows = _rows(page, home.regions)
    return render(
        request,
        "credit/search.html",
        _context(
            snapshot,
            home=home,
            filters=filters,
            page=page,
            rows=rows,
            grade_rows=_grade_rows(home),
            grades_sentence=portal.grades_sentence(home.rulebook),
        ),
    )


def _grade_rows(home: Home) -> list[tuple]:
    """Each bar of the distribution with the score range of its grade, in words."""
    ranges = portal.band_ranges(home.rulebook)
    return [(bar, ranges.get(bar.key, "—")) for bar in home.bars.bars]


def published_entry_or_404(uscc: str) -> SnapshotEntry:
    """The firm's row in the latest snapshot; 404 for a malformed code or a firm not in it
    (the firm page and its credit report answer alike)."""
    try:
        code = normalise_uscc(uscc)
    except ValueError as exc:
        raise Http404("invalid code") from exc
    entry = latest_entry(uscc=code)
    if entry is None:
        raise Http404("unknown enterprise")
    return entry


@require_GET
def enterprise(request: HttpRequest, uscc: str) -> HttpResponse:
    entry = published_entry_or_404(uscc)
    snapshot = entry.snapshot
    today = timezone.localdate()
    rulebook = rulebook_for_version(snapshot.rulebook_version)
    records = portal.published_records(entry, rulebook, today)
    appeals = record_appeals(record_ids=[r.id for r in records])
    registration = registry_facts(enterprise_id=entry.enterprise_id)
    compounds = compounds_managed(enterprise_id=entry.enterprise_id, day=today)
    return render(
        request,
        "credit/enterprise.html",
        _context(
            snapshot,
            entry=entry,
            main=_enterprise_main(entry, rulebook, today, get_language()),
            records=portal.with_appeals(records, appeals),
            registration=registration,
            region_name=_regions(snapshot).names.get(entry.region_code, entry.region_code),
            status=EnterpriseStatus(registration.status).label,
            compounds=compounds,
            compound_count=(
                len(compounds) if compounds is not None else registration.managed_projects
            ),
            report_url=_report_url(entry.uscc),
            model_counts=portal.standing(entry, rulebook).model_counts,
        ),
    )


def _report_url(uscc: str) -> str | None:
    """The firm's credit report (PDF), when this deployment serves it."""
    try:
        return reverse("credit:report", args=[uscc])
    except NoReverseMatch:
        return None


def _enterprise_main(
    entry: SnapshotEntry, rulebook: Rulebook, today: date, language: str
) -> SafeString:
    """The page's standing and score chart, which depend only on the latest snapshot (the
    history ends with it), the day and the language: rendered once per firm while that
    snapshot stays the latest. Rendering them — the chart's points above all — is most of a
    page's cost; the rest (registration, records with their objections) is read and rendered
    for every request, as it is now."""
    memo = snapshot_memo(entry.snapshot_id)
    key = ("public-page", entry.uscc, today, language)
    main = memo.get(key)
    if main is None:
        chart = _score_chart(entry, rulebook, today)
        # render_to_string returns the SafeString of the autoescaping engine: the page
        # template inserts it as is.
        main = memo[key] = render_to_string(
            "credit/_enterprise_main.html",
            {
                "entry": entry,
                "blacklist_reason": portal.plain_reason(entry.blacklist_reason, rulebook),
                "standing": portal.standing(entry, rulebook),
                "chart": chart,
                "chart_svg": score_chart_svg(chart) if chart else "",
                "history_rows": history_rows(chart) if chart else "",
                "band_labels": _band_labels(chart),
            },
        )
    return main


def _score_chart(entry: SnapshotEntry, rulebook: Rulebook, today: date) -> ScoreChart | None:
    """The score history of the last HISTORY_YEARS, over the rulebook's grade bands."""
    history = score_history(uscc=entry.uscc, since=today - timedelta(days=365 * HISTORY_YEARS))
    return score_chart(
        history=[(p.as_of, p.score, p.grade) for p in history],
        bands=[(b.grade, b.min_score) for b in rulebook.grade_bands],
    )


def _band_labels(chart: ScoreChart | None) -> str:
    """Every band of the chart in words, for its description."""
    if chart is None:
        return ""
    return pgettext("list separator", "，").join(
        portal.band_label(band.grade, band.min_score, band.below) for band in chart.bands
    )


@require_GET
def blacklist(request: HttpRequest) -> HttpResponse:
    snapshot = latest_published()
    page = rows = exits = None
    if snapshot is not None:
        home = _home(snapshot)
        page = _page(request, snapshot_blacklisted(snapshot=snapshot))
        rows = _rows(page, home.regions, home.rulebook)
        exits = _exits(snapshot, home.regions, EXITS_SHOWN)
    return render(
        request,
        "credit/blacklist.html",
        _context(snapshot, page=page, rows=rows, exits=exits, filters=Filters()),
    )


@require_GET
def redlist(request: HttpRequest) -> HttpResponse:
    snapshot = latest_published()
    page = rows = None
    if snapshot is not None:
        page = _page(request, snapshot_redlist(snapshot=snapshot))
        rows = _rows(page, _home(snapshot).regions)
    return render(
        request, "credit/redlist.html", _context(snapshot, page=page, rows=rows, filters=Filters())
    )


def _latest_or_404() -> Snapshot:
    snapshot = latest_published()
    if snapshot is None:
        raise Http404("no snapshot")
    return snapshot


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
