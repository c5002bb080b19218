import pytest

from sharing.models import Action, LedgerEntry, Outcome, Share

from .conftest import GLOBEX, acme_image


@pytest.fixture
def shared(client, alice, cloud):
    image_id = acme_image(cloud)
    client.force_login(alice)
    client.post(f"/t/acme/images/{image_id}/share/?region=IAD", {"members": GLOBEX})
    return image_id


def revoke(client, image_id, tenant, note=""):
    url = f"/t/acme/images/{image_id}/members/{tenant}/revoke/?region=IAD"
    return client.post(url, {"note": note}, follow=True)


def test_revoking_removes_the_member_upstream_and_records_it(client, cloud, shared):
    response = revoke(client, shared, GLOBEX, note="contract ended")
    assert cloud.member_status(shared, GLOBEX) is None
    assert "Revoked" in response.text
    entry = LedgerEntry.objects.get(action=Action.REVOKE)
    assert (entry.outcome, entry.http_status, entry.note) == (
        Outcome.SUCCEEDED,
        204,
        "contract ended",
    )
    assert entry.image_name == "web-base"
    assert Share.objects.get(tenant=GLOBEX).revoked_at is not None


def test_a_member_already_gone_upstream_is_reported_and_our_record_closed(client, cloud, shared):
    cloud.delete_member(cloud.member(shared, GLOBEX))
    response = revoke(client, shared, GLOBEX)
    assert "was not a member of this image any more" in response.text
    entry = LedgerEntry.objects.get(action=Action.REVOKE)
    assert (entry.outcome, entry.http_status) == (Outcome.FAILED, 404)
    assert Share.objects.get(tenant=GLOBEX).revoked_at is not None


def test_a_failing_revoke_keeps_the_share_and_says_why(client, cloud, shared):
    cloud.add_fault("error", route="member_delete", status=503)
    response = revoke(client, shared, GLOBEX)
    assert cloud.member_status(shared, GLOBEX) == "pending"
    assert "(request req-" in response.text
    assert LedgerEntry.objects.get(action=Action.REVOKE).outcome == Outcome.FAILED
    assert Share.objects.get(tenant=GLOBEX).revoked_at is None


def test_a_lost_answer_to_a_revoke_is_retried_and_counts_as_done(client, cloud, shared):
    cloud.add_fault("timeout", route="member_delete", after=True, times=1)
    revoke(client, shared, GLOBEX)
    assert cloud.member_status(shared, GLOBEX) is None
    assert Share.objects.get(tenant=GLOBEX).revoked_at is not None


def test_a_member_cannot_revoke(client, cloud, shared, bob):
    client.force_login(bob)
    assert revoke(client, shared, GLOBEX).status_code == 403
    assert cloud.member_status(shared, GLOBEX) == "pending"


def test_the_revoke_button_asks_for_confirmation(client, cloud, shared):
    page = client.get(f"/t/acme/images/{shared}/?region=IAD")
    assert 'data-confirm="Revoke the share with 100002?' in page.text
