"""The auditor: reads, verifies and exports the history, and nothing else. Every export is an
entry of the ledger itself, and names the head of the chain it was cut at."""

import base64
import csv
import io

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sharing import services
from sharing.models import Action, Channel, LedgerEntry, Membership, Role

from .api import ApiClient, token_for
from .conftest import make_user


@pytest.fixture
def audrey(team):
    user = make_user("audrey")
    Membership.objects.create(user=user, team=team, role=Role.AUDITOR)
    return user


@pytest.fixture
def some_history(team, alice):
    for note in ("one", "two", "three"):
        services.ledger_record(team=team, actor=alice, action=Action.REQUEST, note=note)


def test_an_auditor_lands_on_the_history_and_sees_only_it_in_the_menu(client, audrey, team):
    client.force_login(audrey)
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == "/t/acme/history/"
    page = response.content.decode()
    assert 'href="/t/acme/history/"' in page
    assert 'href="/t/acme/images/' not in page
    assert 'href="/t/acme/partners/"' not in page


@pytest.mark.parametrize(
    "path", ["/t/acme/images/", "/t/acme/incoming/", "/t/acme/requests/", "/t/acme/partners/"]
)
def test_an_auditor_is_refused_the_other_pages(client, audrey, team, path):
    client.force_login(audrey)
    assert client.get(path).status_code == 403


def test_a_csv_export_is_recorded_and_names_the_head_it_was_cut_at(
    client, audrey, team, some_history
):
    client.force_login(audrey)
    response = client.get("/t/acme/history.csv?action=request")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))

    export = LedgerEntry.objects.get(action=Action.EXPORT)
    assert (export.actor_name, export.note) == ("audrey", "CSV: action=request")
    links, head = services.ledger_head(team)
    assert rows[-1] == ["# ledger head", str(links), head]
    assert response["Ledger-Head"] == f"{links} {head}"
    assert [row[8] for row in rows[1:-1]] == ["three", "two", "one"]


def test_an_export_keeps_the_chain_whole(client, audrey, team, some_history):
    client.force_login(audrey)
    b"".join(client.get("/t/acme/history.csv").streaming_content)
    assert services.ledger_verify(team=team).ok


def test_the_api_history_is_an_export_with_its_head(audrey, team, some_history):
    api = ApiClient(token_for(audrey, team))
    body = api.get("/api/v1/teams/acme/history/").json()

    export = LedgerEntry.objects.get(action=Action.EXPORT)
    assert (export.channel, export.note) == (Channel.API, "API history: everything")
    assert body["head"] == dict(zip(["links", "hash"], services.ledger_head(team), strict=True))
    assert body["results"][0]["action"] == "export"


def test_the_api_verifies_for_an_auditor(audrey, team, some_history):
    api = ApiClient(token_for(audrey, team))
    response = api.get("/api/v1/teams/acme/history/verify")
    assert response.status_code == 200
    assert response.json()["ok"] is True


def test_the_api_names_the_first_problem_with_409(audrey, team, some_history):
    from .test_ledger_chain import tamper

    first = LedgerEntry.objects.order_by("id").first()
    tamper("UPDATE sharing_ledgerentry SET note = 'x' WHERE id = %s", (first.pk,))
    response = ApiClient(token_for(audrey, team)).get("/api/v1/teams/acme/history/verify")
    assert response.status_code == 409
    assert response.json()["problem"]["entry"] == first.pk
    assert response.json()["problem"]["kind"] == "edited"


def test_a_checkpoint_from_the_api_verifies_with_the_published_key(client, audrey, team):
    api = ApiClient(token_for(audrey, team))
    checkpoint = api.post("/api/v1/teams/acme/history/checkpoint").json()
    key = client.get("/api/v1/ledger-key").json()  # no token needed

    raw = base64.b64decode(key["public_key"])
    assert services.checkpoint_read(checkpoint, raw) == checkpoint
    Ed25519PublicKey.from_public_bytes(raw)  # a real Ed25519 key
    assert key["key_id"] == checkpoint["key_id"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/teams/acme/images/", None),
        ("get", "/api/v1/teams/acme/incoming/", None),
        ("get", "/api/v1/teams/acme/requests/", None),
        (
            "post",
            "/api/v1/teams/acme/requests/",
            {"image_id": "img", "member": "100002", "justification": "audit"},
        ),
    ],
)
def test_an_auditors_token_can_do_nothing_else(audrey, team, method, path, body):
    api = ApiClient(token_for(audrey, team))
    response = api.get(path) if method == "get" else api.post(path, body)
    assert response.status_code == 403
    assert not LedgerEntry.objects.exists()
