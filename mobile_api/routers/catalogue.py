"""GET /catalogue: the violation catalogue of the active rulebook, cacheable by ETag."""

from django.http import HttpRequest, HttpResponse
from ninja import Router

from backend.auth_api import ProblemOut
from credit.selectors import active_rulebook
from mobile_api.auth import mobile_auth
from mobile_api.schemas import CatalogueOut

router = Router(tags=["catalogue"], auth=mobile_auth)


# Bumped whenever the items' shape changes (2: `title_en`), so that a phone holding the old
# body under the old ETag is sent the new one instead of a 304.
ITEM_SHAPE = 2


def _etag(version: str, sha256: str) -> str:
    return f'"{version}-{sha256[:16]}-{ITEM_SHAPE}"'


def _matches(if_none_match: str, etag: str) -> bool:
    candidates = {tag.strip() for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates or f"W/{etag}" in candidates


@router.get(
    "/catalogue",
    response={200: CatalogueOut, 304: None, 401: ProblemOut},
    operation_id="mobile_catalogue",
    summary="违规目录 / violation catalogue",
)
def catalogue(request: HttpRequest, response: HttpResponse):
    active = active_rulebook()
    etag = _etag(active.version, active.rulebook.sha256)
    if _matches(request.headers.get("If-None-Match", ""), etag):
        not_modified = HttpResponse(status=304)
        not_modified["ETag"] = etag
        return not_modified
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return {
        "rulebook_version": active.version,
        "items": [
            {
                "code": rule.code,
                "title": rule.title_zh,
                "title_en": rule.title_en,
                "severity": rule.severity,
                "points": float(rule.points),
                "min_photos": rule.min_photos or 1,
            }
            for rule in active.rulebook.violations
        ],
    }
