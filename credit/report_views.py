"""The downloadable credit report of one firm (`/credit/e/<uscc>/report.pdf`): the PDF of
`credit.report`, from the latest published snapshot, like the enterprise page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.views.decorators.http import require_GET

from credit.report import (
    content_disposition,
    credit_report,
    report_day,
    report_etag,
    report_filename,
    report_pdf,
)
from credit.views import published_entry_or_404

# Revalidated on every use: the ETag changes with the snapshot (and the day), so a client or
# cache that holds the report gets a 304 until then.
CACHE_CONTROL = "public, no-cache"


@require_GET
def report(request: HttpRequest, uscc: str) -> HttpResponse:
    entry = published_entry_or_404(uscc)
    day = report_day()
    etag = report_etag(entry, day)
    response = get_conditional_response(request, etag=etag)  # a 304, or None
    if response is None:
        site = f"{request.scheme}://{request.get_host()}"
        content = credit_report(entry, day=day, now=timezone.now(), site=site)
        response = HttpResponse(report_pdf(content), content_type="application/pdf")
        response["Content-Disposition"] = content_disposition(
            report_filename(entry, day), fallback=f"credit-report-{entry.uscc}-{day}.pdf"
        )
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_CONTROL
    response["X-Snapshot-Id"] = str(entry.snapshot_id)
    response["X-Snapshot-Sha256"] = entry.snapshot.sha256
    return response
