"""Sign-in, refresh and logout endpoints, built once per audience (mobile, bureau)."""

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from pydantic import Field, create_model

from backend.auth import BearerAuth, login_check
from backend.errors import Problem
from backend.tokens import token_family_revoke, token_pair_issue, token_pair_refresh

ERR_NOT_ALLOWED = "该账号无权使用此客户端。"


class TokenIn(Schema):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=256)
    device_id: str = Field(min_length=1, max_length=128)


class RefreshIn(Schema):
    refresh_token: str = Field(min_length=1, max_length=256)


class TokenPairOut(Schema):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"  # noqa: S105 - the RFC 6750 scheme name, not a secret
    expires_in: int


class ProblemOut(Schema):
    type: str
    title: str
    status: int
    detail: str
    code: str


def make_auth_router(
    *,
    audience: str,
    may_sign_in: Callable[[AbstractBaseUser], bool],
    profile_key: str,
    profile_schema: type[Schema],
    profile_of: Callable[[AbstractBaseUser], Any],
    operation_prefix: str,
) -> Router:
    router = Router(tags=["auth"])
    token_out = create_model(
        f"{operation_prefix.title()}TokenOut",
        __base__=TokenPairOut,
        **{profile_key: (profile_schema, ...)},
    )

    @router.post(
        "/token",
        response={200: token_out, 401: ProblemOut, 429: ProblemOut},
        operation_id=f"{operation_prefix}_auth_token",
        summary="登录 / sign in",
    )
    def sign_in(request: HttpRequest, payload: TokenIn):
        user = login_check(username=payload.username, password=payload.password)
        if not may_sign_in(user):
            raise Problem(401, "invalid_credentials", ERR_NOT_ALLOWED)
        pair = token_pair_issue(user=user, audience=audience, device_id=payload.device_id)
        return {
            "access_token": pair.access_token,
            "refresh_token": pair.refresh_token,
            "token_type": "Bearer",
            "expires_in": pair.expires_in,
            profile_key: profile_of(user),
        }

    @router.post(
        "/refresh",
        response={200: TokenPairOut, 401: ProblemOut},
        operation_id=f"{operation_prefix}_auth_refresh",
        summary="刷新令牌 / rotate tokens",
    )
    def refresh(request: HttpRequest, payload: RefreshIn):
        pair = token_pair_refresh(raw_refresh=payload.refresh_token, audience=audience)
        return {
            "access_token": pair.access_token,
            "refresh_token": pair.refresh_token,
            "token_type": "Bearer",
            "expires_in": pair.expires_in,
        }

    @router.post(
        "/logout",
        auth=BearerAuth(audience),
        response={204: None, 401: ProblemOut},
        operation_id=f"{operation_prefix}_auth_logout",
        summary="注销本设备 / sign out this device",
    )
    def logout(request: HttpRequest):
        token_family_revoke(family=request.token_family)
        return HttpResponse(status=204)

    return router
