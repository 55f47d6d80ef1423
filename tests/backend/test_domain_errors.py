"""Domain errors carry no HTTP; the interface edge maps each class to one status of the one
problem format (backend.errors.problem_for)."""

import json

import pytest

from backend import exceptions
from backend.errors import Problem, problem_for, response_for, status_for


@pytest.mark.parametrize(
    ("error_class", "status"),
    [
        (exceptions.NotFound, 404),
        (exceptions.Forbidden, 403),
        (exceptions.Conflict, 409),
        (exceptions.Invalid, 422),
        (exceptions.TooLarge, 413),
        (exceptions.UnsupportedType, 415),
        (exceptions.IntegrityFailed, 460),
        (exceptions.Unavailable, 503),
    ],
)
def test_each_kind_of_refusal_has_its_status(error_class, status):
    problem = problem_for(error_class("some_code", "说明"))

    assert (problem.status, problem.code, problem.detail) == (status, "some_code", "说明")


def test_a_module_own_subclass_keeps_its_parents_status():
    class WindowClosed(exceptions.Conflict):
        pass

    assert status_for(WindowClosed("objection_window_closed", "已过异议期")) == 409


def test_field_messages_are_placed_in_the_request_body_in_order():
    error = exceptions.Invalid(
        "validation_error", "提交的信息不完整", fields=[("facts", "太长"), ("facts", "含控制字符")]
    )

    body = json.loads(response_for(error).content)

    assert body["status"] == 422
    assert body["errors"] == [
        {"loc": ["body", "facts"], "msg": "太长"},
        {"loc": ["body", "facts"], "msg": "含控制字符"},
    ]


def test_specifics_and_protocol_headers_reach_the_answer():
    error = exceptions.Conflict(
        "photos_missing", "缺少照片", headers={"Upload-Offset": "10"}, missing_photos=["p1"]
    )

    response = response_for(error)

    assert response["Content-Type"] == "application/problem+json"
    assert response["Upload-Offset"] == "10"
    assert json.loads(response.content)["missing_photos"] == ["p1"]


def test_a_domain_error_is_not_an_http_problem():
    assert not issubclass(exceptions.DomainError, Problem)
    assert "status" not in vars(exceptions.NotFound("x", "y"))
