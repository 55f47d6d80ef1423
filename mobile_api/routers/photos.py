"""GET /photos/{uuid}: a photo's processing state, evidence and short-lived derivative links."""

from uuid import UUID

from django.http import HttpRequest
from ninja import Router

from backend.auth_api import ProblemOut
from inspections.access import access_photo_by_uuid
from inspections.schemas import absolute, evidence_out
from inspections.selectors import photo_links
from mobile_api.auth import mobile_auth
from mobile_api.schemas import PhotoOut

router = Router(tags=["photos"], auth=mobile_auth)


@router.get(
    "/photos/{photo_uuid}",
    response={200: PhotoOut, 401: ProblemOut, 404: ProblemOut, 503: ProblemOut},
    operation_id="mobile_photo_get",
    summary="照片处理结果 / photo state, evidence and links",
)
def get_photo(request: HttpRequest, photo_uuid: UUID):
    photo = access_photo_by_uuid(request.user, photo_uuid)
    links = photo_links(photo)
    return {
        "photo_uuid": photo.uuid,
        "finding_uuid": photo.finding.uuid,
        "state": photo.state,
        "rejection_reason": photo.rejection_reason or None,
        "rejection_detail": photo.rejection_detail or None,
        "flags": list(photo.flags),
        "evidence": evidence_out(photo),
        "thumb_url": absolute(request, links.thumb_url),
        "display_url": absolute(request, links.display_url),
        "urls_expire_at": links.expires_at,
    }
