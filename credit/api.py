"""Credit APIs: the signed tender API (its own NinjaAPI) and the bureau's credit router, which
`inspections.api` mounts into the bureau API."""

from ninja import Router

from backend.errors import make_api

tender_api = make_api(
    title="物业企业信用 — 招投标平台接口 / Tender API",
    version="1",
    urls_namespace="tender-api",
    description="HMAC 签名请求。Signed requests, see CONTRACTS.md.",
)

bureau_credit_router = Router(tags=["credit"])
