"""`/model`: the risk model card, promote and roll back. Reading the card: reviewers and admins;
changing the active model: admins."""

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from backend.auth import BearerAuth
from backend.auth_api import ProblemOut
from backend.models import TokenAudience
from bureau_api.schemas import ModelCardOut, VersionOut, card_out, version_out
from inspections.risk.model_card import model_card
from inspections.risk.registry import risk_model_promote, risk_model_rollback

router = Router(tags=["model"], auth=BearerAuth(TokenAudience.BUREAU))


@router.get(
    "",
    response={200: ModelCardOut, 401: ProblemOut, 403: ProblemOut, 404: ProblemOut},
    operation_id="bureau_model_card",
    summary="风险模型说明卡 / current risk model card (metrics, calibration, drift, versions)",
)
def card(request: HttpRequest):
    return card_out(model_card(user=request.user))


class PromoteQuery(Schema):
    # Required (409 model_failed_gate without it) when the version did not pass the gate.
    reason: str = Field("", max_length=500)


@router.post(
    "/versions/{version}/promote",
    response={200: VersionOut, 401: ProblemOut, 403: ProblemOut, 404: ProblemOut, 409: ProblemOut},
    operation_id="bureau_model_promote",
    summary="启用模型版本 / make a version the active model (admins; a version that failed the "
    "promotion gate needs ?reason=)",
)
def promote(request: HttpRequest, version: str, query: Query[PromoteQuery]):
    return version_out(risk_model_promote(user=request.user, version=version, reason=query.reason))


@router.post(
    "/versions/{version}/rollback",
    response={200: VersionOut, 401: ProblemOut, 403: ProblemOut, 404: ProblemOut, 409: ProblemOut},
    operation_id="bureau_model_rollback",
    summary="回退模型版本 / retire the active version, re-activate the previous one (admins)",
)
def rollback(request: HttpRequest, version: str):
    return version_out(risk_model_rollback(user=request.user, version=version))
