from unittest import mock

from django.db import connection
from django.db.utils import OperationalError


def test_it_answers_ok_when_the_database_answers(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"


def test_it_needs_no_login(client, db):
    assert client.get("/healthz").status_code == 200


def test_it_fails_when_the_database_does_not_answer(client, db):
    # The database is the one thing we cannot break for real inside a test transaction.
    with mock.patch.object(connection, "cursor", side_effect=OperationalError("down")):
        client.raise_request_exception = False
        assert client.get("/healthz").status_code == 500
