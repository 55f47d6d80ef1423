"""Middleware of the credit app."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from backend.errors import Problem, response_for
from credit.tender_calls import tender_claim_pending, tender_claim_settle


class TenderClaimMiddleware:
    """Settles the nonce claim of a signed tender call just before its answer leaves.

    `credit.tender_calls.tender_call_record` sends the claim to Redis when the view has its
    answer and does not wait; the reply is read here, after the middleware inside this one
    have done their work on the response, so the round trip costs no waiting when Redis is
    quick. A nonce seen before replaces the answer with 401 replayed_request: nothing of the
    answer has been sent yet. It sits inside the security-header middleware, so the
    replacement carries the same headers as any other answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        pending = tender_claim_pending(request)
        if pending is None:
            return response
        try:
            tender_claim_settle(pending)
        except Problem as problem:
            return response_for(problem)
        return response
