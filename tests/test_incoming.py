import pytest

from sharing.models import Action, LedgerEntry, Outcome

from .conftest import ACME, GLOBEX, INITECH, acme_image


@pytest.fixture
def offers(cloud):
    """Globex offers one image (pending), Initech one (accepted); acme shares one of its own."""
    pending = cloud.create_image(owner=GLOBEX, name="Globex CRM appliance")["id"]
    accepted = cloud.create_image(owner=INITECH, name="Initech TPS reports")["id"]
    cloud.add_member(pending, ACME, "pending")
    cloud.add_member(accepted, ACME, "accepted")
    own = acme_image(cloud, name="acme own shared")
    cloud.add_member(own, GLOBEX)
    return {"pending": pending, "accepted": accepted}


def test_it_lists_every_status_and_leaves_out_our_own_images(client, carol, offers):
    client.force_login(carol)
    response = client.get("/t/acme/incoming/")
    assert "Globex CRM appliance" in response.text
    assert "Initech TPS reports" in response.text
    assert "acme own shared" not in response.text
    rows = {image.name: status for image, status in response.context["rows"]}
    assert rows == {"Globex CRM appliance": "pending", "Initech TPS reports": "accepted"}


def test_a_viewer_sees_no_buttons(client, carol, offers):
    client.force_login(carol)
    response = client.get("/t/acme/incoming/")
    assert ">Accept<" not in response.text
    assert ">Reject<" not in response.text


def test_an_admin_accepts_and_it_is_accepted_upstream_and_recorded(client, alice, cloud, offers):
    client.force_login(alice)
    response = client.post(f"/t/acme/incoming/{offers['pending']}/accept/?region=IAD", follow=True)
    assert cloud.member_status(offers["pending"], ACME) == "accepted"
    assert "is now accepted for this team" in response.text
    entry = LedgerEntry.objects.get(action=Action.ACCEPT)
    assert (entry.outcome, entry.tenant, entry.http_status) == (Outcome.SUCCEEDED, ACME, 200)


def test_an_admin_rejects_and_can_go_back_to_pending(client, alice, cloud, offers):
    client.force_login(alice)
    client.post(f"/t/acme/incoming/{offers['accepted']}/reject/")
    assert cloud.member_status(offers["accepted"], ACME) == "rejected"
    client.post(f"/t/acme/incoming/{offers['accepted']}/pending/")
    assert cloud.member_status(offers["accepted"], ACME) == "pending"
    assert list(LedgerEntry.objects.order_by("id").values_list("action", flat=True)) == [
        Action.REJECT,
        Action.PENDING,
    ]


def test_a_viewers_post_is_refused(client, carol, cloud, offers):
    client.force_login(carol)
    assert client.post(f"/t/acme/incoming/{offers['pending']}/accept/").status_code == 403
    assert cloud.member_status(offers["pending"], ACME) == "pending"


def test_an_image_not_shared_with_us_fails_clearly(client, alice, cloud, offers):
    stranger = cloud.create_image(owner=GLOBEX, name="not for acme")["id"]
    client.force_login(alice)
    response = client.post(f"/t/acme/incoming/{stranger}/accept/", follow=True)
    assert "(request req-" in response.text
    assert LedgerEntry.objects.get().outcome == Outcome.FAILED


def test_an_unknown_decision_is_404(client, alice, offers):
    client.force_login(alice)
    assert client.post(f"/t/acme/incoming/{offers['pending']}/maybe/").status_code == 404


def test_no_incoming_images_shows_an_empty_state(client, alice, cloud):
    client.force_login(alice)
    assert "No other account has shared an image" in client.get("/t/acme/incoming/").text
