"""The public request link: outsiders ask without logging in; throttled; rotatable."""

import pytest
from django.core import mail

from sharing.models import AccessRequest, LedgerEntry, RequestStatus

from .conftest import INITECH, acme_image


@pytest.fixture
def link(client, alice, cloud, team):
    """alice turns the link on and allows one image; returns (link path, allowed image id)."""
    allowed = acme_image(cloud, name="Ubuntu web base")
    acme_image(cloud, name="internal only")
    client.force_login(alice)
    client.post("/t/acme/settings/link/rotate/")
    client.post("/t/acme/settings/link/images/", {"images": [allowed]})
    team.refresh_from_db()
    client.logout()
    mail.outbox.clear()
    return f"/r/{team.request_link_token}/", allowed


def fill(image_id, **extra):
    return {
        "name": "Peter Gibbons",
        "email": "peter@initech.example",
        "member": INITECH,
        "image_id": image_id,
        "justification": "We run the TPS report servers on it.",
        **extra,
    }


def test_the_settings_page_shows_the_link_to_admins_only(client, alice, carol, link):
    path, _ = link
    client.force_login(alice)
    assert path in client.get("/t/acme/settings/").text
    client.force_login(carol)
    assert client.get("/t/acme/settings/").status_code == 403


def test_an_outsider_sees_only_the_allowed_images(client, link):
    path, allowed = link
    page = client.get(path)
    assert page.status_code == 200
    assert "Ubuntu web base" in page.text
    assert "internal only" not in page.text


def test_an_outsider_asks_gets_a_confirmation_and_a_private_status_link(client, alice, link):
    path, allowed = link
    response = client.post(path, fill(allowed), follow=True)
    found = AccessRequest.objects.get()
    assert (found.via_link, found.requested_by, found.tenant) == (True, None, INITECH)
    assert response.redirect_chain[-1][0] == f"/r/status/{found.status_token}/"
    assert "A team admin of Acme will decide" in response.text
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == ["alice@example.com", "peter@initech.example"]
    confirmation = next(m for m in mail.outbox if m.to == ["peter@initech.example"])
    assert f"/r/status/{found.status_token}/" in confirmation.body
    entry = LedgerEntry.objects.get()
    assert entry.actor_name == "Peter Gibbons <peter@initech.example>"


def test_the_decision_reaches_the_outsider_by_email(client, alice, link):
    path, allowed = link
    client.post(path, fill(allowed))
    found = AccessRequest.objects.get()
    mail.outbox.clear()
    client.force_login(alice)
    client.post(f"/t/acme/requests/{found.pk}/approve/", {"note": "welcome"})
    assert mail.outbox[0].to == ["peter@initech.example"]
    assert f"/r/status/{found.status_token}/" in mail.outbox[0].body
    client.logout()
    status = client.get(f"/r/status/{found.status_token}/")
    assert "Approved" in status.text and "welcome" in status.text


def test_an_image_not_allowed_through_the_link_is_refused(client, cloud, link):
    path, _ = link
    other = acme_image(cloud, name="secret")
    response = client.post(path, fill(other))
    assert "Select a valid choice" in response.context["form"].errors["image_id"][0]
    assert not AccessRequest.objects.exists()


def test_bad_input_is_explained_and_kept(client, link):
    path, allowed = link
    response = client.post(path, fill(allowed, email="not-an-email", member="abc"))
    errors = response.context["form"].errors
    assert "email" in errors and "member" in errors
    assert "Peter Gibbons" in response.text


def test_it_is_throttled_per_address(client, link, settings):
    settings.OUTSIDE_REQUEST_RATE_PER_ADDRESS = "2/h"
    path, allowed = link
    statuses = [
        client.post(path, fill(allowed, member=str(300000 + n))).status_code for n in range(3)
    ]
    assert statuses == [302, 302, 429]
    assert AccessRequest.objects.count() == 2


def test_it_is_throttled_per_link_across_addresses(client, link, settings):
    settings.OUTSIDE_REQUEST_RATE_PER_LINK = "2/h"
    path, allowed = link
    statuses = [
        client.post(
            path, fill(allowed, member=str(300000 + n)), REMOTE_ADDR=f"192.0.2.{n}"
        ).status_code
        for n in range(3)
    ]
    assert statuses == [302, 302, 429]


def test_a_rotated_token_gives_a_plain_404(client, alice, link, team):
    path, _ = link
    client.force_login(alice)
    client.post("/t/acme/settings/link/rotate/")
    client.logout()
    assert client.get(path).status_code == 404
    team.refresh_from_db()
    assert client.get(f"/r/{team.request_link_token}/").status_code == 200


def test_a_revoked_link_and_an_invented_token_give_404(client, alice, link):
    path, _ = link
    assert client.get("/r/not-a-token/").status_code == 404
    client.force_login(alice)
    client.post("/t/acme/settings/link/revoke/")
    client.logout()
    assert client.get(path).status_code == 404


def test_an_unknown_status_token_is_404(client, db):
    assert client.get("/r/status/nope/").status_code == 404


def test_outsiders_cannot_decide(client, link):
    path, allowed = link
    client.post(path, fill(allowed))
    found = AccessRequest.objects.get()
    response = client.post(f"/t/acme/requests/{found.pk}/approve/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    found.refresh_from_db()
    assert found.status == RequestStatus.PENDING
