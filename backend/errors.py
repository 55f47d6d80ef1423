"""One error format for every JSON API: RFC 9457 problem details.

This is the interface edge. Domain code raises `backend.exceptions.DomainError` subclasses,
which know nothing of HTTP; `problem_for` maps each class to its status (DOMAIN_STATUSES).
Interfaces raise `Problem` for what only HTTP knows (a malformed code in a path, a missing
snapshot). `install_problem_handlers` turns both, ninja's validation and auth errors, 404s and
anything unexpected into `application/problem+json`. Plain Django views (tus uploads) use
`response_for` / `problem_response` directly.
"""

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from backend import exceptions as domain
from backend.text import MSG_NUL, Location, nul_location, printable_location

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://wuye-credit.example/problems/"
ERR_REQUEST_TOO_LARGE = "请求内容过大。"
ERR_VALIDATION = "请求内容不符合要求。"

# Titles by status, in Chinese like every text the APIs send (whatever Accept-Language says);
# `detail` carries the human explanation of the specific case, `code` the stable identifier.
_TITLES = {
    400: "请求有误",
    401: "未认证",
    403: "无权访问",
    404: "未找到",
    405: "不允许的请求方法",
    409: "冲突",
    410: "已失效",
    411: "缺少内容长度",
    412: "前提条件不满足",
    413: "请求内容过大",
    415: "不支持的内容类型",
    422: "请求数据无效",
    423: "资源被占用",
    429: "请求过于频繁",
    460: "校验和不一致",
    500: "服务器内部错误",
    503: "服务暂不可用",
}
DEFAULT_TITLE = "错误"


class Problem(Exception):
    """A failure the client can act on. `extra` members are merged into the body."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def problem_body(status: int, code: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": TYPE_BASE + code,
        "title": _TITLES.get(status, DEFAULT_TITLE),
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JsonResponse:
    response = JsonResponse(
        problem_body(status, code, detail, **extra),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
        json_dumps_params={"ensure_ascii": False},
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def response_for(problem: Problem | domain.DomainError) -> JsonResponse:
    if isinstance(problem, domain.DomainError):
        problem = problem_for(problem)
    return problem_response(
        problem.status, problem.code, problem.detail, headers=problem.headers, **problem.extra
    )


# The status of each domain error class at the HTTP edge (looked up along the class's MRO, so
# a subclass a module defines for itself keeps its parent's status).
DOMAIN_STATUSES: dict[type[domain.DomainError], int] = {
    domain.NotFound: 404,
    domain.Forbidden: 403,
    domain.Conflict: 409,
    domain.Busy: 423,
    domain.Invalid: 422,
    domain.TooLarge: 413,
    domain.UnsupportedType: 415,
    domain.IntegrityFailed: 460,
    domain.Unavailable: 503,
    domain.DomainError: 422,
}


def status_for(error: domain.DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in DOMAIN_STATUSES:
            return DOMAIN_STATUSES[cls]
    raise TypeError(f"{type(error).__name__} is not a DomainError")


def problem_for(error: domain.DomainError) -> Problem:
    """The problem the interface sends for a domain error; field messages become ninja-shaped
    validation errors located in the request body."""
    extra = dict(error.extra)
    if error.fields:
        extra["errors"] = [
            {"loc": ["body", field], "msg": message} for field, message in error.fields
        ]
    return Problem(status_for(error), error.code, error.detail, headers=error.headers, **extra)


def _validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(error.get("loc", [])), "msg": str(error.get("msg", "invalid"))}
        for error in exc.errors
    ]


def nul_problem(loc: Location) -> Problem:
    """The answer to text holding U+0000 (see backend.text), shaped like ninja's validation
    errors so that clients handle both alike."""
    return Problem(
        422,
        "validation_error",
        ERR_VALIDATION,
        errors=[{"loc": printable_location(loc), "msg": MSG_NUL}],
    )


class NulRefusingParser(Parser):
    """ninja's JSON parser, refusing a body with U+0000 in any string or key before a schema
    (and so the database) sees it. Query strings and forms are refused earlier, by
    `backend.middleware.RefuseNulMiddleware`."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = super().parse_body(request)
        loc = nul_location(data, ("body",))
        if loc is not None:
            raise nul_problem(loc)
        return data


def install_problem_handlers(api: NinjaAPI) -> None:
    """Route every error of `api` through the problem format."""

    @api.exception_handler(Problem)
    def _problem(request: HttpRequest, exc: Problem):
        return response_for(exc)

    @api.exception_handler(domain.DomainError)
    def _domain(request: HttpRequest, exc: domain.DomainError):
        return response_for(problem_for(exc))

    @api.exception_handler(ValidationError)
    def _validation(request: HttpRequest, exc: ValidationError):
        return problem_response(
            422, "validation_error", ERR_VALIDATION, errors=_validation_errors(exc)
        )

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request: HttpRequest, exc: AuthenticationError):
        return problem_response(
            401,
            "not_authenticated",
            "缺少有效的访问令牌。",
            headers={"WWW-Authenticate": "Bearer"},
        )

    @api.exception_handler(Http404)
    def _not_found(request: HttpRequest, exc: Http404):
        return problem_response(404, "not_found", "未找到请求的资源。")

    # A JSON body above DATA_UPLOAD_MAX_MEMORY_SIZE raises this when a view (or the tender
    # signature check) first reads `request.body`; without a handler it was a 500.
    @api.exception_handler(RequestDataTooBig)
    def _too_large(request: HttpRequest, exc: RequestDataTooBig):
        return problem_response(413, "request_too_large", ERR_REQUEST_TOO_LARGE)

    @api.exception_handler(HttpError)
    def _http_error(request: HttpRequest, exc: HttpError):
        # ninja wraps whatever its parser raises in a 400 "Cannot parse request body"; a
        # Problem raised by our parser (NulRefusingParser) keeps its own answer.
        if isinstance(exc.__cause__, Problem):
            return response_for(exc.__cause__)
        return problem_response(exc.status_code, f"http_{exc.status_code}", str(exc))

    @api.exception_handler(Exception)
    def _unexpected(request: HttpRequest, exc: Exception):
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(500, "internal_error", "服务器内部错误，请稍后重试。")


PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
    },
}


def _shared_error_statuses(operation: dict[str, Any]) -> list[int]:
    """What the handlers above answer for any operation of this shape: 401 without a valid
    credential; 400 for a body that is not JSON, 413 above DATA_UPLOAD_MAX_MEMORY_SIZE, 422
    for a body or parameter of the wrong shape."""
    statuses = [401] if operation.get("security") else []
    if operation.get("requestBody"):
        statuses += [400, 413, 422]
    elif operation.get("parameters"):
        statuses.append(422)
    return statuses


class ProblemDocumentedAPI(NinjaAPI):
    """Documents what the problem handlers really send (found by schemathesis' status-code and
    content-type checks; generated clients rely on both): every 4xx/5xx body is
    `application/problem+json`, not ninja's default `application/json`, and the answers the
    shared handlers give to any operation are listed on every operation they can reach."""

    def get_openapi_schema(self, **kwargs: Any):
        schema = super().get_openapi_schema(**kwargs)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for status in _shared_error_statuses(operation):
                    if status not in responses and str(status) not in responses:
                        responses[status] = {
                            "description": _TITLES[status],
                            "content": {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM_SCHEMA}},
                        }
                for status, response in responses.items():
                    content = response.get("content", {})
                    if int(status) >= 400 and "application/json" in content:
                        content[PROBLEM_CONTENT_TYPE] = content.pop("application/json")
        return schema


def make_api(
    *, title: str, version: str, urls_namespace: str, description: str = "", **kwargs: Any
) -> NinjaAPI:
    """A NinjaAPI for one audience, with the shared error handling installed."""
    api = ProblemDocumentedAPI(
        parser=NulRefusingParser(),
        title=title,
        version=version,
        urls_namespace=urls_namespace,
        description=description,
        **kwargs,
    )
    install_problem_handlers(api)
    return api
