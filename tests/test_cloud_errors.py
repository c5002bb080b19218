"""How an upstream error answer becomes a `CloudError`: its class, message, status, request id."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http import HTTPStatus

import pytest
import requests

from builtin_cloud import FakeCloudAdapter
from sharing.cloud import (
    AlreadyMember,
    BadRequest,
    CloudError,
    Forbidden,
    MemberLimitReached,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from sharing.cloud.errors import error_from_response, parse_retry_after

GLANCE_403 = (
    b'{"message": "Not allowed to create members for image abc.<br /><br />\\n\\n\\n", '
    b'"code": "403 Forbidden", "title": "Forbidden"}'
)


def answer(status: int, body: bytes = b"", headers=()) -> requests.Response:
    """A real response, through a transport that gives this answer to any request."""

    def app(environ, start_response):
        start_response(f"{status} {HTTPStatus(status).phrase}", list(headers))
        return [body]

    session = requests.Session()
    session.mount("http://canned.test/", FakeCloudAdapter(app))
    return session.get("http://canned.test/")


def test_glance_messages_lose_their_br_debris():
    error = error_from_response(answer(403, GLANCE_403, [("x-openstack-request-id", "req-1")]))

    assert isinstance(error, Forbidden)
    assert str(error) == "Not allowed to create members for image abc."
    assert error.status == 403
    assert error.request_id == "req-1"
    assert not error.retryable


def test_rackspace_faults_are_understood():
    body = b'{"overLimit": {"code": 413, "message": "OverLimit Retry...", "details": "x"}}'

    error = error_from_response(answer(413, body, [("Retry-After", "12")]))

    assert isinstance(error, RateLimited)
    assert error.message == "OverLimit Retry..."
    assert error.retry_after == 12.0
    assert error.retryable


def test_keystone_errors_are_understood():
    body = b'{"error": {"code": 401, "title": "Unauthorized", "message": "Needs auth."}}'

    assert error_from_response(answer(401, body)).message == "Needs auth."


def test_html_bodies_become_plain_text():
    body = b"<html><body><h1>502 Bad Gateway</h1>\n<p>nginx</p></body></html>"

    assert error_from_response(answer(502, body)).message == "502 Bad Gateway nginx"


def test_an_empty_body_still_gives_a_message():
    assert (
        error_from_response(answer(503)).message
        == "The cloud answered HTTP 503 Service Unavailable."
    )


def test_a_long_message_is_cut():
    body = b'{"message": "' + b"x" * 1000 + b'"}'

    assert len(error_from_response(answer(500, body)).message) == 300


@pytest.mark.parametrize(
    ("status", "message", "error_class"),
    [
        (400, "Invalid sort key", BadRequest),
        (401, "Unauthorized", Unauthorized),
        (403, "Not allowed", Forbidden),
        (404, "Image abc not found.", NotFound),
        (409, "Member 1 is duplicated for image abc", AlreadyMember),
        (413, "Image member limit exceeded for image abc: ...", MemberLimitReached),
        (413, "OverLimit Retry...", RateLimited),
        (415, "The request media type is not supported", BadRequest),
        (429, "Too many requests", RateLimited),
        (500, "Internal error", Unavailable),
        (503, "Unavailable", Unavailable),
        (418, "I'm a teapot", CloudError),
    ],
)
def test_each_status_has_its_error_class(status, message, error_class):
    error = error_from_response(answer(status, f'{{"message": "{message}"}}'.encode()))

    assert type(error) is error_class
    assert error.status == status


def test_only_transient_errors_are_retryable():
    assert error_from_response(answer(429)).retryable
    assert error_from_response(answer(503)).retryable
    member_limit = answer(413, b'{"message": "Image member limit exceeded for image abc"}')
    assert not error_from_response(member_limit).retryable
    assert not error_from_response(answer(404)).retryable


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("5", 5.0), ("0", 0.0), ("0.05", 0.05), (None, None), ("", None), ("soon", None)],
)
def test_retry_after_in_seconds(value, seconds):
    assert parse_retry_after(value) == seconds


def test_retry_after_as_an_http_date():
    in_a_minute = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    a_minute_ago = format_datetime(datetime.now(UTC) - timedelta(seconds=60), usegmt=True)

    assert 55 < parse_retry_after(in_a_minute) <= 60
    assert parse_retry_after(a_minute_ago) == 0.0
