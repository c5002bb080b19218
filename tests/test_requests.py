"""Access requests: ask, decide (never one's own), share once; e-mails and the ledger."""

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from sharing.models import (
    AccessRequest,
    Action,
    ApprovalPolicy,
    LedgerEntry,
    Membership,
    Outcome,
    Partner,
    RequestStatus,
    Role,
    Share,
)

from .conftest import GLOBEX, INITECH, acme_image, make_user, message_text


@pytest.fixture
def erin(team):
    """A second admin, for four-eyes decisions."""
    user = make_user("erin")
    Membership.objects.create(user=user, team=team, role=Role.ADMIN)
    return user


@pytest.fixture
def image_id(cloud):
    return acme_image(cloud, name="web-base")


def ask(client, image_id, tenant=INITECH, justification="Initech pilot", **extra):
    data = {"image_id": image_id, "member": tenant, "justification": justification, **extra}
    return client.post("/t/acme/requests/new/?region=IAD", data, follow=True)


@pytest.fixture
def bobs_request(client, bob, alice, cloud, image_id):
    client.force_login(bob)
    ask(client, image_id, expires_at=(timezone.localdate() + timedelta(days=7)).isoformat())
    mail.outbox.clear()
    return AccessRequest.objects.get()


def test_a_member_asks_and_the_admins_are_told(client, bob, alice, carol, cloud, image_id):
    client.force_login(bob)
    response = ask(client, image_id)
    found = AccessRequest.objects.get()
    assert (found.status, found.tenant, found.requested_by) == ("pending", INITECH, bob)
    assert found.image_name == "web-base"
    assert f"Request #{found.pk} sent" in message_text(response)
    entry = LedgerEntry.objects.get()
    assert (entry.action, entry.actor_name, entry.access_request) == (Action.REQUEST, "bob", found)
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["alice@example.com"]
    assert f"/t/acme/requests/{found.pk}/" in email.body
    assert email.alternatives[0].mimetype == "text/html"
    assert cloud.members(image_id) == []


def test_a_viewer_may_ask_too(client, carol, cloud, image_id):
    client.force_login(carol)
    ask(client, image_id)
    assert AccessRequest.objects.get().requested_by == carol


def test_the_form_is_prefilled_from_the_image_page(client, bob, cloud, image_id):
    client.force_login(bob)
    page = client.get(f"/t/acme/images/{image_id}/")
    assert f"/t/acme/requests/new/?region=IAD&amp;image_id={image_id}" in page.text
    assert "Share this image" not in page.text
    form = client.get(f"/t/acme/requests/new/?image_id={image_id}").context["form"]
    assert form["image_id"].value() == image_id


def test_a_partner_can_be_named_instead_of_its_id(client, bob, cloud, image_id, team):
    Partner.objects.create(team=team, name="Initech", tenant=INITECH)
    client.force_login(bob)
    ask(client, image_id, tenant="initech")
    assert AccessRequest.objects.get().tenant == INITECH


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("justification", "   ", "Say why"),
        ("member", "12ab", "not a Rackspace account number"),
        ("member", "100001", "this team's own account"),
        ("expires_at", "2001-01-01", "in the past"),
    ],
)
def test_bad_input_is_explained_next_to_the_field(
    client, bob, cloud, image_id, field, value, error
):
    client.force_login(bob)
    response = ask(client, image_id, **{field: value})
    assert error in " ".join(response.context["form"].errors[field])
    assert not AccessRequest.objects.exists()


def test_an_end_date_past_the_maximum_is_refused(client, bob, cloud, image_id, team):
    client.force_login(bob)
    too_late = timezone.localdate() + timedelta(days=team.max_share_days + 1)
    response = ask(client, image_id, expires_at=too_late.isoformat())
    assert "At most 365 days" in response.context["form"].errors["expires_at"][0]


def test_an_image_of_another_account_is_refused(client, bob, cloud):
    theirs = cloud.create_image(owner=GLOBEX, name="globex public", visibility="public")["id"]
    client.force_login(bob)
    response = ask(client, theirs)
    assert "belongs to another account" in response.text
    assert not AccessRequest.objects.exists()


def test_an_unknown_image_is_refused_next_to_the_field(client, bob, cloud):
    client.force_login(bob)
    response = ask(client, "0a3c2a65-0000-4000-8000-000000000000")
    assert "There is no image with this ID" in response.context["form"].errors["image_id"][0]


def test_one_open_request_per_image_and_tenant(client, bob, carol, cloud, image_id):
    client.force_login(bob)
    ask(client, image_id)
    client.force_login(carol)
    response = ask(client, image_id)
    assert "An open request to share this image with 100003 already exists" in response.text
    assert AccessRequest.objects.count() == 1


def test_a_tenant_that_already_has_the_share_is_told_so(client, alice, bob, cloud, image_id):
    client.force_login(alice)
    client.post(f"/t/acme/images/{image_id}/share/", {"members": INITECH})
    client.force_login(bob)
    response = ask(client, image_id)
    assert "already shared with 100003" in response.text


def test_an_admin_approves_and_the_share_happens_once(client, alice, bob, cloud, bobs_request):
    client.force_login(alice)
    response = client.post(
        f"/t/acme/requests/{bobs_request.pk}/approve/", {"note": "ok for 7 days"}, follow=True
    )
    assert "Approved" in message_text(response)
    assert cloud.member_status(bobs_request.image_id, INITECH) == "pending"
    bobs_request.refresh_from_db()
    assert (bobs_request.status, bobs_request.decided_by) == (RequestStatus.APPROVED, alice)
    assert bobs_request.decision_note == "ok for 7 days"
    linked = list(bobs_request.entries.order_by("id").values_list("action", "outcome"))
    assert linked == [
        (Action.REQUEST, Outcome.SUCCEEDED),
        (Action.APPROVE, Outcome.SUCCEEDED),
        (Action.SHARE, Outcome.SUCCEEDED),
    ]
    share = Share.objects.get(tenant=INITECH)
    assert share.access_request == bobs_request
    assert share.expires_at == bobs_request.share_until
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]
    assert "approved" in mail.outbox[0].subject

    again = client.post(f"/t/acme/requests/{bobs_request.pk}/approve/", follow=True)
    assert "already approved; nothing changed" in message_text(again)
    assert cloud.calls("member_create") == 1


def test_the_request_page_tells_the_story(client, alice, bob, cloud, bobs_request):
    client.force_login(alice)
    client.post(f"/t/acme/requests/{bobs_request.pk}/approve/", {"note": "fine"})
    client.force_login(bob)
    page = client.get(f"/t/acme/requests/{bobs_request.pk}/")
    assert [e.action for e in page.context["timeline"]] == ["request", "approve", "share"]
    assert "fine" in page.text


def test_a_member_cannot_approve(client, bob, bobs_request):
    assert client.post(f"/t/acme/requests/{bobs_request.pk}/approve/").status_code == 403
    bobs_request.refresh_from_db()
    assert bobs_request.status == RequestStatus.PENDING


def test_nobody_decides_their_own_request(client, alice, erin, cloud, image_id):
    client.force_login(alice)
    ask(client, image_id)
    found = AccessRequest.objects.get()
    page = client.get(f"/t/acme/requests/{found.pk}/")
    assert "another admin decides" in page.text
    for action in ("approve", "reject"):
        response = client.post(
            f"/t/acme/requests/{found.pk}/{action}/", {"note": "me"}, follow=True
        )
        assert "Nobody decides their own request" in message_text(response)
    found.refresh_from_db()
    assert found.status == RequestStatus.PENDING
    assert cloud.members(image_id) == []

    client.force_login(erin)
    client.post(f"/t/acme/requests/{found.pk}/approve/")
    assert cloud.member_status(image_id, INITECH) == "pending"


def test_rejecting_needs_a_reason(client, alice, bobs_request):
    client.force_login(alice)
    response = client.post(f"/t/acme/requests/{bobs_request.pk}/reject/", {"note": "  "})
    assert response.context["reject_form"].errors["note"] == [
        "Say why: the requester sees this reason."
    ]
    bobs_request.refresh_from_db()
    assert bobs_request.status == RequestStatus.PENDING


def test_rejecting_tells_the_requester_why(client, alice, cloud, bobs_request):
    client.force_login(alice)
    client.post(f"/t/acme/requests/{bobs_request.pk}/reject/", {"note": "Not licensed for Initech"})
    bobs_request.refresh_from_db()
    assert bobs_request.status == RequestStatus.REJECTED
    assert mail.outbox[0].to == ["bob@example.com"]
    assert "Not licensed for Initech" in mail.outbox[0].body
    assert cloud.members(bobs_request.image_id) == []
    assert bobs_request.entries.first().action == Action.REJECT_REQUEST  # newest first


def test_the_requester_may_cancel_while_pending_and_nobody_else(client, bob, carol, bobs_request):
    client.force_login(carol)
    response = client.post(f"/t/acme/requests/{bobs_request.pk}/cancel/", follow=True)
    assert "Only the person who asked" in message_text(response)
    client.force_login(bob)
    client.post(f"/t/acme/requests/{bobs_request.pk}/cancel/")
    bobs_request.refresh_from_db()
    assert bobs_request.status == RequestStatus.CANCELLED
    again = client.post(f"/t/acme/requests/{bobs_request.pk}/cancel/", follow=True)
    assert "already cancelled" in message_text(again)


def test_a_failed_share_marks_the_request_failed_and_can_be_retried(
    client, alice, cloud, bobs_request
):
    cloud.add_fault("error", route="member_create", status=503)
    client.force_login(alice)
    response = client.post(f"/t/acme/requests/{bobs_request.pk}/approve/", follow=True)
    assert "Approved, but the share failed" in message_text(response)
    bobs_request.refresh_from_db()
    assert bobs_request.status == RequestStatus.FAILED
    assert "(request req-" in bobs_request.failure
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]  # the admins

    cloud.clear_faults()
    client.post(f"/t/acme/requests/{bobs_request.pk}/approve/")
    bobs_request.refresh_from_db()
    assert bobs_request.status == RequestStatus.APPROVED
    assert cloud.member_status(bobs_request.image_id, INITECH) == "pending"


def test_a_private_image_is_made_shared_only_once_the_admin_confirms(client, alice, bob, cloud):
    private = acme_image(cloud, name="snap", visibility="private")
    client.force_login(bob)
    ask(client, private)
    found = AccessRequest.objects.get()
    client.force_login(alice)
    page = client.post(f"/t/acme/requests/{found.pk}/approve/", {"note": "go"})
    assert "Make shared, then approve" in page.text
    found.refresh_from_db()
    assert found.status == RequestStatus.PENDING
    client.post(f"/t/acme/requests/{found.pk}/approve/", {"note": "go", "make_shared": "1"})
    assert cloud.image(private).visibility == "shared"
    assert cloud.member_status(private, INITECH) == "pending"


def test_an_approval_whose_share_could_not_be_confirmed_follows_its_settled_outcome(
    client, alice, cloud, bobs_request
):
    cloud.add_fault("late", route="member_create", seconds=60, times=1)
    client.force_login(alice)
    response = client.post(f"/t/acme/requests/{bobs_request.pk}/approve/", follow=True)
    assert "the next check will tell" in message_text(response)
    bobs_request.refresh_from_db()
    assert bobs_request.status == RequestStatus.FAILED
    assert "the next check will tell" in bobs_request.failure
    assert bobs_request.sharing_since is not None
    cloud.apply_late()  # the create lands after all
    mail.outbox.clear()

    call_command("sync_shares", "--settle-after", "0", stdout=io.StringIO())

    bobs_request.refresh_from_db()
    assert (bobs_request.status, bobs_request.failure, bobs_request.sharing_since) == (
        RequestStatus.APPROVED, "", None,
    )  # fmt: skip
    share = Share.objects.get(revoked_at=None)
    assert (share.access_request, share.expires_at) == (bobs_request, bobs_request.share_until)
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]  # now the requester hears


def test_an_approval_whose_image_cannot_be_made_shared_records_a_share_never_sent(
    client, alice, bob, cloud
):
    private = acme_image(cloud, name="snap", visibility="private")
    client.force_login(bob)
    ask(client, private)
    found = AccessRequest.objects.get()
    cloud.add_fault("error", route="image_patch", status=403)
    client.force_login(alice)
    client.post(f"/t/acme/requests/{found.pk}/approve/", {"make_shared": "1"})
    found.refresh_from_db()
    assert (found.status, found.sharing_since) == (RequestStatus.FAILED, None)
    attempt = found.entries.get(action=Action.SHARE)
    assert attempt.outcome == Outcome.FAILED
    assert attempt.message.startswith("Not sent: the image could not be made shared.")
    assert found.entries.get(action=Action.MAKE_SHARED).outcome == Outcome.FAILED
    assert cloud.members(private) == []


def test_forged_posts_to_another_teams_request_are_404(
    client, dave, alice, bobs_request, other_team
):
    client.force_login(dave)
    assert client.post(f"/t/acme/requests/{bobs_request.pk}/approve/").status_code == 404
    assert client.post(f"/t/umbrella/requests/{bobs_request.pk}/approve/").status_code == 404
    bobs_request.refresh_from_db()
    assert bobs_request.status == RequestStatus.PENDING


def test_with_the_four_eyes_policy_an_admins_share_becomes_a_request(
    client, alice, erin, cloud, image_id, team
):
    team.approval_policy = ApprovalPolicy.EVERYONE
    team.save()
    client.force_login(alice)
    response = client.post(
        f"/t/acme/images/{image_id}/share/", {"members": GLOBEX, "note": "Q3 deal"}, follow=True
    )
    assert "waits for another admin" in message_text(response)
    assert cloud.members(image_id) == []
    found = AccessRequest.objects.get()
    assert (found.requested_by, found.justification) == (alice, "Q3 deal")
    client.force_login(erin)
    client.post(f"/t/acme/requests/{found.pk}/approve/")
    assert cloud.member_status(image_id, GLOBEX) == "pending"


def test_a_members_share_without_a_why_goes_to_the_prefilled_request_form(
    client, bob, cloud, image_id
):
    client.force_login(bob)
    response = client.post(f"/t/acme/images/{image_id}/share/", {"members": GLOBEX})
    assert response.status_code == 302
    form = client.get(response["Location"]).context["form"]
    assert form["image_id"].value() == image_id
    assert form["member"].value() == GLOBEX
    assert not AccessRequest.objects.exists()


def test_a_members_share_with_a_why_files_the_request_for_an_admin(client, bob, cloud, image_id):
    client.force_login(bob)
    response = client.post(
        f"/t/acme/images/{image_id}/share/",
        {"members": GLOBEX, "note": "for the pilot"},
        follow=True,
    )
    found = AccessRequest.objects.get()
    assert (found.tenant, found.justification, found.requested_by) == (GLOBEX, "for the pilot", bob)
    assert f"request #{found.pk} waits for an admin" in message_text(response)
    assert cloud.members(image_id) == []


def test_admins_see_the_queue_count_in_the_navigation(client, alice, bob, bobs_request):
    client.force_login(alice)
    assert '<span class="count"' in client.get("/t/acme/requests/").text
    client.force_login(bob)
    assert '<span class="count"' not in client.get("/t/acme/requests/").text


def test_the_queue_lists_open_requests_and_filters_by_status(client, alice, bobs_request):
    client.force_login(alice)
    assert list(client.get("/t/acme/requests/").context["page"]) == [bobs_request]
    assert list(client.get("/t/acme/requests/?status=approved").context["page"]) == []


def test_with_the_four_eyes_policy_an_admins_bad_input_is_shown_on_the_image_page(
    client, alice, cloud, image_id, team
):
    team.approval_policy = ApprovalPolicy.EVERYONE
    team.save()
    client.force_login(alice)
    response = client.post(f"/t/acme/images/{image_id}/share/", {"members": "abc"})
    assert response.status_code == 200
    assert "not a Rackspace account number" in response.context["form"].errors["members"][0]
    assert not AccessRequest.objects.exists()


def test_approving_reads_the_image_once(client, alice, cloud, bobs_request):
    cloud.reset_counters()
    client.force_login(alice)
    client.post(f"/t/acme/requests/{bobs_request.pk}/approve/")
    assert cloud.calls("image_get") == 1
    assert cloud.calls("member_create") == 1


def test_a_four_eyes_share_with_several_tenants_reads_the_image_once(
    client, alice, cloud, image_id, team
):
    team.approval_policy = ApprovalPolicy.EVERYONE
    team.save()
    cloud.reset_counters()
    client.force_login(alice)
    client.post(f"/t/acme/images/{image_id}/share/", {"members": f"{GLOBEX}, {INITECH}"})
    assert AccessRequest.objects.count() == 2
    assert cloud.calls("image_get") == 1
