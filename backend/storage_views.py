"""`/objects/<token>`: downloads behind the folder backend's signed links.

An S3 store hands out presigned URLs of the store itself; the folder backend (embedded mode) has
no server of its own, so `FolderStore.presigned_get` signs a token that this view checks.
"""

import math
import time

from django.http import FileResponse, HttpRequest, HttpResponseBase
from django.views.decorators.http import require_GET

from backend import storage
from backend.errors import problem_response

DETAIL_LINK_INVALID = "下载链接无效。"
DETAIL_LINK_EXPIRED = "下载链接已过期，请重新获取。"
DETAIL_OBJECT_MISSING = "文件不存在或已被删除。"
DETAIL_STORE_UNAVAILABLE = "文件存储暂时不可用，请稍后重试。"
# Long enough for a store restart, short enough that a phone retries while the user waits.
RETRY_AFTER_S = 5


@require_GET
def signed_object(request: HttpRequest, token: str) -> HttpResponseBase:
    try:
        grant = storage.read_object_link(token)
    except storage.ObjectLinkExpired:
        return problem_response(410, "link_expired", DETAIL_LINK_EXPIRED)
    except storage.ObjectLinkInvalid:
        return problem_response(403, "link_invalid", DETAIL_LINK_INVALID)
    try:
        reader = storage.get_store().get(grant.key)
    except storage.StorageUnavailable:
        return problem_response(
            503,
            "storage_unavailable",
            DETAIL_STORE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    if reader is None:
        return problem_response(404, "not_found", DETAIL_OBJECT_MISSING)
    response = FileResponse(
        reader,
        content_type=reader.stat.content_type,
        as_attachment=grant.filename is not None,
        filename=grant.filename or "",
    )
    response["Content-Length"] = str(reader.stat.size)
    # Browsers may reuse the bytes only while the link itself is valid.
    max_age = max(0, math.floor(grant.expires_at.timestamp() - time.time()))
    response["Cache-Control"] = f"private, max-age={max_age}"
    # Stored bytes are served from our own origin: never let them run script there.
    response["Content-Security-Policy"] = "sandbox"
    return response
