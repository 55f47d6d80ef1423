"""Photo upload over tus 1.0.0 (core + creation, termination, expiration) at `/uploads/`.

Stock tus clients (TUSKit, tus-android-client, tus-js-client, tuspy) work unchanged. These are
ninja operations that handle the raw request themselves: the body is streamed by the service
a slice at a time (never `request.body`), authentication is checked here so that even a 401
carries `Tus-Resumable`, and every failure is an RFC 9457 problem.

Answers beyond the tus core, all documented in CONTRACTS.md or here:
- 401 `not_authenticated` without a valid mobile access token;
- 404 for an unknown upload, one of another inspector, and one that ended (checksum mismatch,
  termination, expiry); 404 as well for a `photo_uuid` that is not a slot of the caller's
  own finding;
- 413 `photo_too_large` above 25 MiB; 415 `unsupported_media_type` for a declared type other
  than JPEG, HEIC/HEIF, PNG or WebP; 422 `empty_file` for `Upload-Length: 0`;
- 460 `checksum_mismatch` when the upload's length differs from the slot's `size_bytes`
  (at creation) or the received bytes differ in size or SHA-256 (on the last byte);
- 423 `upload_busy` (with `Retry-After`) for a PATCH while another PATCH is still streaming
  into the same upload — what a browser's silent resend after a dropped connection looks
  like; the client HEADs after the pause and continues from the offset the first one reached;
- 503 `storage_unavailable` with `Retry-After` while the object store is down; nothing is
  committed for the bytes of that request, so the client resumes from `HEAD`'s offset.
OPTIONS needs no token: it only lists the server's fixed capabilities, and CORS preflights
never carry credentials.
"""

import base64
import binascii
import logging
from collections.abc import Callable
from functools import wraps
from uuid import UUID

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import http_date
from ninja import Router

from backend.auth_api import ProblemOut
from backend.errors import Problem, problem_response, response_for
from backend.exceptions import DomainError
from backend.models import TokenAudience
from backend.storage import StorageError
from backend.text import nul_location
from backend.tokens import token_authenticate
from inspections.access import ERR_UPLOAD_NOT_FOUND, not_found
from inspections.services import (
    AppendResult,
    upload_append,
    upload_create,
    upload_get,
    upload_terminate,
)

logger = logging.getLogger(__name__)

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination,expiration"
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
# A store restart takes seconds; phones retry after this long instead of hammering it.
STORAGE_RETRY_AFTER_S = 10
MAX_METADATA_CHARS = 4096

ERR_NOT_AUTHENTICATED = "缺少有效的访问令牌。"
ERR_VERSION = "仅支持 tus 1.0.0。"
ERR_LENGTH_HEADER = "缺少或无效的 Upload-Length（不支持 Upload-Defer-Length）。"
ERR_METADATA = "Upload-Metadata 须包含 photo_uuid，值为 base64 编码。"
ERR_OFFSET_HEADER = "缺少或无效的 Upload-Offset。"
ERR_CONTENT_TYPE = "PATCH 请求的 Content-Type 须为 application/offset+octet-stream。"
ERR_CONTENT_LENGTH = "PATCH 请求须带 Content-Length。"
ERR_STORAGE = "文件存储暂时不可用，请稍后重试。"
ERR_UNEXPECTED = "服务器内部错误，请稍后重试。"

router = Router(tags=["uploads"])


# --- OpenAPI description ------------------------------------------------------------------
# These operations read raw headers and bodies, so ninja cannot infer their contract; without
# this the document promised "200" for everything (schemathesis' status-code check found it).


def _header(name: str, schema: dict, description: str) -> dict:
    return {
        "in": "header",
        "name": name,
        "required": True,
        "schema": schema,
        "description": description,
    }


TUS_RESUMABLE_HEADER = _header("Tus-Resumable", {"type": "string", "enum": [TUS_VERSION]}, "tus")
DIGITS = {"type": "string", "pattern": r"^[0-9]+$"}
BEARER = [{"BearerAuth": []}]


def _tus_doc(*headers: dict, body: bool = False) -> dict:
    extra = {"parameters": [TUS_RESUMABLE_HEADER, *headers], "security": BEARER}
    if body:
        extra["requestBody"] = {
            "required": True,
            "content": {OFFSET_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }
    return extra


def _problems(*statuses: int) -> dict:
    return dict.fromkeys((401, 404, 412, 503, *statuses), ProblemOut)


def _with_tus_headers(response: HttpResponse) -> HttpResponse:
    response["Tus-Resumable"] = TUS_VERSION
    return response


def tus_endpoint(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Version check, bearer authentication and problem answers for every tus request."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            if request.headers.get("Tus-Resumable") != TUS_VERSION:
                raise Problem(412, "tus_version", ERR_VERSION, headers={"Tus-Version": TUS_VERSION})
            request.user = _bearer_user(request)
            response = view(request, *args, **kwargs)
        except (Problem, DomainError) as problem:
            response = response_for(problem)
        except StorageError:
            logger.warning("object store failure during %s %s", request.method, request.path)
            response = problem_response(
                503,
                "storage_unavailable",
                ERR_STORAGE,
                headers={"Retry-After": str(STORAGE_RETRY_AFTER_S)},
            )
        except Exception:
            logger.exception("unhandled error on %s %s", request.method, request.path)
            response = problem_response(500, "internal_error", ERR_UNEXPECTED)
        return _with_tus_headers(response)

    return wrapped


def _bearer_user(request: HttpRequest):
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    found = (
        token_authenticate(raw=raw.strip(), audience=TokenAudience.MOBILE)
        if scheme.lower() == "bearer" and raw.strip()
        else None
    )
    if found is None:
        raise Problem(
            401, "not_authenticated", ERR_NOT_AUTHENTICATED, headers={"WWW-Authenticate": "Bearer"}
        )
    return found.user


def _int_header(request: HttpRequest, name: str, code: str, detail: str) -> int:
    value = request.headers.get(name, "")
    if not value.isdigit():  # digits only: no sign, no spaces, no "1e3"
        raise Problem(400, code, detail)
    return int(value)


def parse_metadata(header: str) -> dict[str, str]:
    """`key base64value,key2 base64value2` → dict; values that are not UTF-8 base64, or that
    hold U+0000 (the file name is stored, and PostgreSQL cannot store NUL), are 400."""
    if len(header) > MAX_METADATA_CHARS:
        raise Problem(400, "invalid_metadata", ERR_METADATA)
    metadata = {}
    for pair in filter(None, (item.strip() for item in header.split(","))):
        key, _, encoded = pair.partition(" ")
        try:
            metadata[key] = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise Problem(400, "invalid_metadata", ERR_METADATA) from None
    if nul_location(metadata) is not None:
        raise Problem(400, "invalid_metadata", ERR_METADATA)
    return metadata


def _upload_url(request: HttpRequest, upload_id: UUID) -> str:
    return request.build_absolute_uri(
        reverse("mobile-api:tus_upload", kwargs={"upload_id": upload_id})
    )


def _offset_headers(response: HttpResponse, result: AppendResult) -> HttpResponse:
    response["Upload-Offset"] = str(result.offset)
    response["Upload-Length"] = str(result.length)
    if result.expires_at is not None:
        response["Upload-Expires"] = http_date(result.expires_at.timestamp())
    response["Cache-Control"] = "no-store"
    return response


def _options_response() -> HttpResponse:
    response = HttpResponse(status=204)
    response["Tus-Version"] = TUS_VERSION
    response["Tus-Extension"] = TUS_EXTENSIONS
    response["Tus-Max-Size"] = str(settings.MAX_PHOTO_BYTES)
    return _with_tus_headers(response)


@router.api_operation(
    ["OPTIONS"],
    "/uploads/",
    auth=None,
    response={204: None},
    operation_id="mobile_uploads_options",
    summary="tus 能力",
)
def uploads_options(request: HttpRequest):
    return _options_response()


@router.api_operation(
    ["OPTIONS"],
    "/uploads/{upload_id}",
    auth=None,
    response={204: None},
    operation_id="mobile_upload_options",
    summary="tus 能力",
)
def upload_options(request: HttpRequest, upload_id: str):
    return _options_response()


@router.post(
    "/uploads/",
    auth=None,
    response={201: None, **_problems(400, 413, 415, 422, 460)},
    openapi_extra=_tus_doc(
        _header("Upload-Length", DIGITS, "照片字节数，≤ 25 MiB"),
        _header(
            "Upload-Metadata", {"type": "string"}, "photo_uuid、filename、content_type（base64）"
        ),
    ),
    operation_id="mobile_upload_create",
    summary="创建照片上传（tus creation）/ create an upload",
)
@tus_endpoint
def create(request: HttpRequest):
    length = _int_header(request, "Upload-Length", "invalid_upload_length", ERR_LENGTH_HEADER)
    metadata = parse_metadata(request.headers.get("Upload-Metadata", ""))
    try:
        photo_uuid = UUID(metadata["photo_uuid"])
    except (KeyError, ValueError):
        raise Problem(400, "invalid_metadata", ERR_METADATA) from None
    upload = upload_create(
        user=request.user,
        photo_uuid=photo_uuid,
        length=length,
        filename=metadata.get("filename", ""),
        content_type=metadata.get("content_type", metadata.get("filetype", "")),
    )
    response = _offset_headers(HttpResponse(status=201), AppendResult.of(upload))
    response["Location"] = _upload_url(request, upload.id)
    return response


@router.api_operation(
    ["HEAD"],
    "/uploads/{upload_id}",
    auth=None,
    url_name="tus_upload",
    response={200: None, **_problems()},
    openapi_extra=_tus_doc(),
    operation_id="mobile_upload_head",
    summary="查询上传进度 / upload offset",
)
@tus_endpoint
def head(request: HttpRequest, upload_id: str):
    upload = upload_get(user=request.user, upload_id=_upload_id(upload_id), settle=True)
    return _offset_headers(HttpResponse(status=200), AppendResult.of(upload))


@router.patch(
    "/uploads/{upload_id}",
    auth=None,
    response={204: None, **_problems(400, 409, 411, 413, 415, 423, 460)},
    openapi_extra=_tus_doc(_header("Upload-Offset", DIGITS, "本次数据的起始偏移量"), body=True),
    operation_id="mobile_upload_patch",
    summary="续传数据 / append bytes at Upload-Offset",
)
@tus_endpoint
def patch(request: HttpRequest, upload_id: str):
    if request.content_type != OFFSET_CONTENT_TYPE:
        raise Problem(415, "unsupported_media_type", ERR_CONTENT_TYPE)
    offset = _int_header(request, "Upload-Offset", "invalid_upload_offset", ERR_OFFSET_HEADER)
    content_length = request.META.get("CONTENT_LENGTH", "")
    if not str(content_length).isdigit():
        raise Problem(411, "length_required", ERR_CONTENT_LENGTH)
    result = upload_append(
        user=request.user,
        upload_id=_upload_id(upload_id),
        offset=offset,
        content_length=int(content_length),
        read=request.read,
    )
    return _offset_headers(HttpResponse(status=204), result)


@router.delete(
    "/uploads/{upload_id}",
    auth=None,
    response={204: None, **_problems()},
    openapi_extra=_tus_doc(),
    operation_id="mobile_upload_delete",
    summary="终止上传（tus termination）/ terminate an upload",
)
@tus_endpoint
def delete(request: HttpRequest, upload_id: str):
    upload_terminate(user=request.user, upload_id=_upload_id(upload_id))
    return HttpResponse(status=204)


def _upload_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise not_found(ERR_UPLOAD_NOT_FOUND) from None
