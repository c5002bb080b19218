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


def test_browsers_asking_for_the_favicon_are_sent_to_the_icon(client, db):
    from django.contrib.staticfiles import finders

    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("sharing/favicon.svg")
    assert finders.find("sharing/favicon.svg") is not None


def test_pages_name_their_icon(client, db):
    page = client.get("/accounts/login/").content.decode()
    assert 'rel="icon"' in page and "favicon.svg" in page
