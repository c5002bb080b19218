"""Sharing an image from its page, through the built-in cloud."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sharing.models import Action, LedgerEntry, Outcome, Partner, Share

from .conftest import GLOBEX, INITECH, acme_image, messages_of


def share(client, image_id, members, **extra):
    return client.post(
        f"/t/acme/images/{image_id}/share/?region=IAD", {"members": members, **extra}, follow=True
    )


@pytest.fixture
def image_id(cloud):
    return acme_image(cloud)


def test_an_admin_shares_an_image_and_the_member_is_pending_upstream(
    client, alice, cloud, image_id
):
    client.force_login(alice)
    response = share(client, image_id, GLOBEX, note="Globex onboarding")
    assert cloud.member_status(image_id, GLOBEX) == "pending"
    assert f"Shared with {GLOBEX}" in messages_of(response)[0]
    entry = LedgerEntry.objects.get(action=Action.SHARE)
    assert (entry.actor_name, entry.tenant, entry.outcome) == ("alice", GLOBEX, Outcome.SUCCEEDED)
    assert entry.http_status == 200
    assert entry.request_id.startswith("req-")
    assert entry.image_name == "web-base"
    assert entry.note == "Globex onboarding"
    record = Share.objects.get(image_id=image_id, tenant=GLOBEX)
    assert (record.status, record.shared_by) == ("pending", alice)


def test_several_tenants_separated_by_commas_semicolons_or_lines_are_shared_once_each(
    client, alice, cloud, image_id
):
    client.force_login(alice)
    share(client, image_id, f"{GLOBEX}, {INITECH}\n{GLOBEX}; 100004")
    assert {m.member_id for m in cloud.members(image_id)} == {GLOBEX, INITECH, "100004"}
    assert LedgerEntry.objects.filter(action=Action.SHARE).count() == 3


def test_bad_tenant_ids_are_named_next_to_the_field_and_nothing_is_shared(
    client, alice, cloud, image_id
):
    client.force_login(alice)
    response = share(client, image_id, f"{GLOBEX}, abc, 34x")
    assert response.status_code == 200
    errors = response.context["form"].errors["members"]
    assert any("'abc' is not a Rackspace account number" in e for e in errors)
    assert any("'34x'" in e for e in errors)
    assert f"{GLOBEX}, abc, 34x" in response.text  # what was typed is kept
    assert cloud.members(image_id) == []
    assert not LedgerEntry.objects.exists()


def test_a_space_inside_one_entry_is_refused_rather_than_read_as_two_tenants(
    client, alice, cloud, image_id
):
    client.force_login(alice)
    response = share(client, image_id, f"{GLOBEX}, 12 34")
    errors = response.context["form"].errors["members"]
    assert errors == [
        "“12 34” has a space inside: put a comma between two tenant IDs, "
        "or remove the space from one."
    ]
    assert cloud.members(image_id) == []


def test_sharing_with_the_teams_own_account_is_refused(client, alice, cloud, image_id):
    client.force_login(alice)
    response = share(client, image_id, "100001")
    assert "this team's own account" in response.context["form"].errors["members"][0]


def test_a_past_end_date_is_refused(client, alice, cloud, image_id):
    client.force_login(alice)
    response = share(client, image_id, GLOBEX, expires_at="2001-01-01")
    assert response.context["form"].errors["expires_at"] == ["The end date is in the past."]


def test_an_end_date_is_kept_on_the_share(client, alice, cloud, image_id):
    end = timezone.localdate() + timedelta(days=30)
    client.force_login(alice)
    share(client, image_id, GLOBEX, expires_at=end.isoformat())
    assert timezone.localtime(Share.objects.get(tenant=GLOBEX).expires_at).date() == end


def test_an_end_date_past_the_teams_maximum_is_refused(client, alice, cloud, image_id, team):
    team.max_share_days = 10
    team.save()
    client.force_login(alice)
    end = timezone.localdate() + timedelta(days=11)
    response = share(client, image_id, GLOBEX, expires_at=end.isoformat())
    assert "At most 10 days from today" in response.context["form"].errors["expires_at"][0]


def test_partners_can_be_picked_instead_of_typed(client, alice, cloud, image_id, team):
    globex = Partner.objects.create(team=team, name="Globex Corp", tenant=GLOBEX)
    initech = Partner.objects.create(team=team, name="Initech", tenant=INITECH)
    client.force_login(alice)
    page = client.get(f"/t/acme/images/{image_id}/")
    assert "Globex Corp (100002)" in page.text
    share(client, image_id, GLOBEX, partners=[globex.pk, initech.pk])
    assert {m.member_id for m in cloud.members(image_id)} == {GLOBEX, INITECH}


def test_nothing_to_share_with_is_explained(client, alice, cloud, image_id):
    client.force_login(alice)
    response = share(client, image_id, "  ")
    assert response.context["form"].errors["members"] == [
        "Enter at least one tenant ID or pick a partner."
    ]


def test_a_tenant_already_a_member_is_reported_with_its_status(client, alice, cloud, image_id):
    cloud.add_member(image_id, GLOBEX, status="accepted")
    client.force_login(alice)
    response = share(client, image_id, GLOBEX)
    assert f"Already shared with {GLOBEX} (accepted)" in messages_of(response)[0]
    entry = LedgerEntry.objects.get(action=Action.SHARE)
    assert (entry.outcome, entry.http_status) == (Outcome.SUCCEEDED, 409)
    assert Share.objects.get(tenant=GLOBEX).status == "accepted"


def test_a_private_image_asks_for_confirmation_then_becomes_shared(client, alice, cloud):
    image_id = acme_image(cloud, name="db-snapshot", visibility="private")
    client.force_login(alice)
    response = share(client, image_id, GLOBEX, note="migration")
    assert "is private" in response.text
    assert "Make shared, then share" in response.text
    assert cloud.image(image_id).visibility == "private"
    assert not LedgerEntry.objects.exists()

    share(client, image_id, GLOBEX, note="migration", make_shared="1")
    assert cloud.image(image_id).visibility == "shared"
    assert cloud.member_status(image_id, GLOBEX) == "pending"
    actions = list(LedgerEntry.objects.order_by("id").values_list("action", "outcome"))
    assert actions == [(Action.MAKE_SHARED, Outcome.SUCCEEDED), (Action.SHARE, Outcome.SUCCEEDED)]


def test_on_a_cloud_older_than_v2_5_a_private_image_is_shared_as_is(client, alice, cloud):
    cloud.api_version = "2.3"
    image_id = acme_image(cloud, name="old-cloud", visibility="private")
    client.force_login(alice)
    share(client, image_id, GLOBEX)
    assert cloud.member_status(image_id, GLOBEX) == "pending"
    assert cloud.image(image_id).visibility == "private"


def test_an_unknown_image_says_so(client, alice, cloud):
    client.force_login(alice)
    response = share(client, "0a3c2a65-0000-4000-8000-000000000000", GLOBEX)
    assert "No image found" in " ".join(messages_of(response))


def test_the_member_limit_fails_clearly_and_is_recorded(client, alice, cloud, image_id):
    cloud.member_limit = 1
    cloud.add_member(image_id, INITECH)
    client.force_login(alice)
    response = share(client, image_id, GLOBEX)
    text = " ".join(messages_of(response))
    assert "Not shared with 100002: The image has reached its member limit." in text
    assert "(request req-" in text
    entry = LedgerEntry.objects.get(action=Action.SHARE)
    assert (entry.outcome, entry.http_status) == (Outcome.FAILED, 413)


def test_a_rate_limit_is_retried_and_the_share_succeeds(client, alice, cloud, image_id, settings):
    # 429 on the first GET of the image: the client waits Retry-After and tries again.
    cloud.add_fault("rate_limit", route="image_get", status=429, retry_after="0", times=1)
    client.force_login(alice)
    client.post(f"/t/acme/images/{image_id}/share/", {"members": GLOBEX})
    assert cloud.member_status(image_id, GLOBEX) == "pending"
    assert cloud.calls("image_get") == 2


def test_a_rate_limited_create_is_not_retried_blindly_and_fails(client, alice, cloud, image_id):
    cloud.add_fault("rate_limit", route="member_create", status=429, retry_after="0", times=1)
    client.force_login(alice)
    response = share(client, image_id, GLOBEX)
    assert cloud.calls("member_create") == 1
    assert cloud.member_status(image_id, GLOBEX) is None
    assert f"Not shared with {GLOBEX}" in " ".join(messages_of(response))
    assert LedgerEntry.objects.get(action=Action.SHARE).http_status == 429


def test_a_503_on_create_fails_with_the_request_id(client, alice, cloud, image_id):
    cloud.add_fault("error", route="member_create", status=503)
    client.force_login(alice)
    response = share(client, image_id, GLOBEX)
    entry = LedgerEntry.objects.get(action=Action.SHARE)
    assert (entry.outcome, entry.http_status) == (Outcome.FAILED, 503)
    assert entry.request_id in " ".join(messages_of(response))


def test_a_timeout_before_the_change_is_unknown_until_settled(client, alice, cloud, image_id):
    # The POST may still arrive after the check said 404: only "not shared" when certain.
    cloud.add_fault("timeout", route="member_create", after=False, times=1)
    client.force_login(alice)
    response = share(client, image_id, GLOBEX)
    assert cloud.member_status(image_id, GLOBEX) is None
    assert LedgerEntry.objects.get(action=Action.SHARE).outcome == Outcome.UNKNOWN
    text = " ".join(messages_of(response))
    assert "could not be confirmed yet" in text
    assert "try again" not in text
    assert not Share.objects.exists()


def test_a_server_error_before_the_change_is_not_shared(client, alice, cloud, image_id):
    cloud.add_fault("error", route="member_create", status=500, times=1)
    client.force_login(alice)
    response = share(client, image_id, GLOBEX)
    assert LedgerEntry.objects.get(action=Action.SHARE).outcome == Outcome.FAILED
    assert (
        "Not shared with 100002: The cloud is unavailable right now; try again later."
        in " ".join(messages_of(response))
    )


def test_a_server_error_after_the_change_is_recorded_as_shared(client, alice, cloud, image_id):
    cloud.add_fault("error", route="member_create", status=503, after=True, times=1)
    client.force_login(alice)
    response = share(client, image_id, GLOBEX)
    assert cloud.member_status(image_id, GLOBEX) == "pending"
    entry = LedgerEntry.objects.get(action=Action.SHARE)
    assert (entry.outcome, entry.http_status) == (Outcome.SUCCEEDED, 503)
    assert f"Shared with {GLOBEX}" in messages_of(response)[0]
    assert Share.objects.filter(tenant=GLOBEX, revoked_at=None).exists()


def test_a_timeout_after_the_change_is_settled_as_shared(client, alice, cloud, image_id):
    cloud.add_fault("timeout", route="member_create", after=True, times=1)
    client.force_login(alice)
    response = share(client, image_id, GLOBEX)
    assert cloud.member_status(image_id, GLOBEX) == "pending"
    entry = LedgerEntry.objects.get(action=Action.SHARE)
    assert entry.outcome == Outcome.SUCCEEDED
    assert f"Shared with {GLOBEX}" in messages_of(response)[0]
    assert Share.objects.filter(tenant=GLOBEX, revoked_at=None).exists()


def test_a_timeout_that_cannot_be_settled_is_recorded_as_unknown(client, alice, cloud, image_id):
    cloud.add_fault("timeout", route="member_create", after=True, times=1)
    cloud.add_fault("error", route="member_get", status=503)
    client.force_login(alice)
    response = share(client, image_id, GLOBEX)
    assert LedgerEntry.objects.get(action=Action.SHARE).outcome == Outcome.UNKNOWN
    assert "could not be confirmed yet" in " ".join(messages_of(response))


def test_a_viewer_cannot_share(client, carol, cloud, image_id):
    client.force_login(carol)
    assert share(client, image_id, GLOBEX).status_code == 403
    assert cloud.members(image_id) == []


def test_a_member_is_sent_to_ask_for_access(client, bob, cloud, image_id):
    client.force_login(bob)
    response = share(client, image_id, GLOBEX)
    assert cloud.members(image_id) == []
    assert "approval" in " ".join(messages_of(response))


def test_an_outsider_gets_404(client, dave, cloud, image_id):
    client.force_login(dave)
    assert share(client, image_id, GLOBEX).status_code == 404


def test_sharing_needs_a_post(client, alice, cloud, image_id):
    client.force_login(alice)
    assert client.get(f"/t/acme/images/{image_id}/share/").status_code == 405


def test_re_sharing_with_a_member_of_a_full_image_is_already_shared(client, alice, cloud, image_id):
    cloud.member_limit = 1
    cloud.add_member(image_id, GLOBEX, status="accepted")
    client.force_login(alice)
    response = share(client, image_id, GLOBEX)
    assert f"Already shared with {GLOBEX} (accepted)" in messages_of(response)[0]
    assert LedgerEntry.objects.get(action=Action.SHARE).outcome == Outcome.SUCCEEDED
