"""The image line pages, through Django's test client, the services and the built-in cloud."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sharing import services
from sharing.models import AccessRequest, Action, LedgerEntry, Line, LineChannel, VersionState

from .conftest import GLOBEX, INITECH, acme_image, message_text


@pytest.fixture
def line(team, alice, cloud) -> Line:
    return services.line_create(
        team=team, actor=alice, name="Acme web base", slug="web-base", region="IAD"
    )


URL = "/t/acme/lines/web-base/"


def test_everyone_in_the_team_sees_the_lines_with_counts_and_channels(
    client, line, alice, carol, cloud
):
    services.subscriber_add(line=line, actor=alice, tenant=GLOBEX)
    services.line_publish(line=line, actor=alice, image_id=acme_image(cloud))
    client.force_login(carol)
    page = client.get("/t/acme/lines/")
    assert page.status_code == 200
    [row] = page.context["rows"]
    assert (row.versions, row.subscribers) == (1, 1)
    assert "latest → v1" in page.content.decode()
    assert 'href="/t/acme/lines/"' in page.content.decode()  # in the navigation


def test_another_teams_user_gets_404_for_the_lines(client, line, dave):
    client.force_login(dave)
    assert client.get("/t/acme/lines/").status_code == 404
    assert client.get(URL).status_code == 404


def test_an_admin_creates_a_line(client, team, alice, cloud):
    client.force_login(alice)
    answer = client.post(
        "/t/acme/lines/",
        {"name": "Web", "slug": "web", "region": "IAD", "keep": "3", "grace_days": "7"},
        follow=True,
    )
    assert answer.redirect_chain[-1][0] == "/t/acme/lines/web/"
    line = Line.objects.get(slug="web")
    assert (line.keep, line.grace_days) == (3, 7)


def test_a_slug_clash_is_refused_on_the_form(client, line, alice):
    client.force_login(alice)
    answer = client.post("/t/acme/lines/", {"name": "Other", "slug": "web-base", "region": "IAD"})
    assert answer.status_code == 200
    assert "already has a line" in answer.content.decode()
    assert Line.objects.count() == 1


def test_keep_below_one_is_refused_on_the_form(client, team, alice):
    client.force_login(alice)
    answer = client.post("/t/acme/lines/", {"name": "W", "slug": "w", "region": "IAD", "keep": 0})
    assert answer.status_code == 200 and not Line.objects.exists()


def test_a_viewer_cannot_create_a_line(client, team, carol):
    client.force_login(carol)
    answer = client.post("/t/acme/lines/", {"name": "W", "slug": "w", "region": "IAD"})
    assert answer.status_code == 403


def test_publishing_on_the_page_shares_with_the_subscribers(client, line, alice, cloud):
    services.subscriber_add(line=line, actor=alice, tenant=GLOBEX)
    image_id = acme_image(cloud)
    client.force_login(alice)
    answer = client.post(URL + "publish/", {"image_id": image_id}, follow=True)
    assert "Published version 1; shared with 1 subscriber(s)." in message_text(answer)
    assert cloud.member_status(image_id, GLOBEX) == "pending"
    page = answer.content.decode()
    assert "v1" in page and image_id in page


def test_publishing_an_unknown_image_on_the_page_says_so(client, line, alice, cloud):
    client.force_login(alice)
    answer = client.post(URL + "publish/", {"image_id": "nope"}, follow=True)
    assert "There is no image nope of this team in IAD." in message_text(answer)


def test_publishing_twice_on_the_page_says_nothing_changed(client, line, alice, cloud):
    image_id = acme_image(cloud)
    client.force_login(alice)
    client.post(URL + "publish/", {"image_id": image_id})
    answer = client.post(URL + "publish/", {"image_id": image_id}, follow=True)
    assert "already is version 1: nothing changed" in message_text(answer)


def test_a_member_cannot_publish(client, line, bob, cloud):
    client.force_login(bob)
    assert client.post(URL + "publish/", {"image_id": acme_image(cloud)}).status_code == 403


def test_an_admin_subscribes_tenants_directly(client, line, alice, cloud):
    image_id = acme_image(cloud)
    services.line_publish(line=line, actor=alice, image_id=image_id)
    client.force_login(alice)
    answer = client.post(URL + "subscribers/", {"members": f"{GLOBEX}, {INITECH}"}, follow=True)
    assert f"{GLOBEX} subscribed; 1 version(s) shared." in message_text(answer)
    assert cloud.member_status(image_id, INITECH) == "pending"


def test_a_member_files_a_request_that_an_admin_approves_in_the_queue(
    client, line, alice, bob, cloud
):
    image_id = acme_image(cloud)
    services.line_publish(line=line, actor=alice, image_id=image_id)
    client.force_login(bob)
    answer = client.post(URL + "subscribers/", {"members": GLOBEX, "note": "we run it"})
    asked = AccessRequest.objects.get(line=line)
    assert cloud.member_status(image_id, GLOBEX) is None
    assert answer.status_code == 302
    client.force_login(alice)
    queue = client.get("/t/acme/requests/").content.decode()
    assert "web-base" in queue
    assert client.get(f"/t/acme/requests/{asked.pk}/").status_code == 200
    approved = client.post(f"/t/acme/requests/{asked.pk}/approve/", {"note": "fine"}, follow=True)
    assert f"{GLOBEX} subscribes to line web-base" in message_text(approved)
    assert cloud.member_status(image_id, GLOBEX) == "pending"
    assert line.subscribers.filter(tenant=GLOBEX).exists()


def test_a_member_must_say_why(client, line, bob, cloud):
    client.force_login(bob)
    answer = client.post(URL + "subscribers/", {"members": GLOBEX}, follow=True)
    assert "Say why" in message_text(answer)
    assert not AccessRequest.objects.exists()


def test_an_admin_moves_stable_on_the_page(client, line, alice, cloud):
    first = acme_image(cloud, "v1")
    services.line_publish(line=line, actor=alice, image_id=first)
    services.line_publish(line=line, actor=alice, image_id=acme_image(cloud, "v2"))
    client.force_login(alice)
    answer = client.post(URL + "channels/stable/", {"image_id": first, "note": "soak"}, follow=True)
    assert "stable now points at version 1." in message_text(answer)
    assert LineChannel.objects.get(line=line, name="stable").version.number == 1


def test_a_channel_move_outside_the_line_is_refused_on_the_page(client, line, alice, cloud):
    client.force_login(alice)
    answer = client.post(URL + "channels/stable/", {"image_id": "elsewhere"}, follow=True)
    assert "not a version of line web-base" in message_text(answer)


def test_deprecating_and_restoring_on_the_page(client, team, line, alice, cloud):
    old, new = acme_image(cloud, "v1"), acme_image(cloud, "v2")
    services.line_publish(line=line, actor=alice, image_id=old)
    services.line_publish(line=line, actor=alice, image_id=new)
    client.force_login(alice)
    on = timezone.localdate(timezone=team.zone) + timedelta(days=14)
    answer = client.post(
        URL + f"versions/{old}/deprecate/", {"replacement": new, "revoke_on": on}, follow=True
    )
    assert "Version 1 deprecated" in message_text(answer)
    assert line.versions.get(number=1).state == VersionState.DEPRECATED
    assert "revoked on" in answer.content.decode()
    client.post(URL + f"versions/{old}/restore/")
    assert line.versions.get(number=1).state == VersionState.ACTIVE


def test_a_past_revoke_date_is_refused_on_the_page(client, team, line, alice, cloud):
    old, new = acme_image(cloud, "v1"), acme_image(cloud, "v2")
    services.line_publish(line=line, actor=alice, image_id=old)
    services.line_publish(line=line, actor=alice, image_id=new)
    client.force_login(alice)
    past = timezone.localdate(timezone=team.zone) - timedelta(days=1)
    answer = client.post(
        URL + f"versions/{old}/deprecate/", {"replacement": new, "revoke_on": past}, follow=True
    )
    assert "in the past" in message_text(answer)
    assert line.versions.get(number=1).state == VersionState.ACTIVE


def test_removing_a_subscriber_on_the_page_can_revoke_its_versions(client, line, alice, cloud):
    image_id = acme_image(cloud)
    services.subscriber_add(line=line, actor=alice, tenant=GLOBEX)
    services.line_publish(line=line, actor=alice, image_id=image_id)
    client.force_login(alice)
    answer = client.post(URL + f"subscribers/{GLOBEX}/remove/", {"revoke": "on"}, follow=True)
    assert "1 version(s) revoked" in message_text(answer)
    assert cloud.member_status(image_id, GLOBEX) is None
    assert LedgerEntry.objects.filter(action=Action.UNSUBSCRIBE, tenant=GLOBEX).exists()


def test_the_line_page_shows_its_history(client, line, alice, carol, cloud):
    services.line_publish(line=line, actor=alice, image_id=acme_image(cloud))
    client.force_login(carol)
    page = client.get(URL)
    actions = {entry.action for entry in page.context["detail"].history}
    assert {Action.LINE_CREATE, Action.PUBLISH, Action.CHANNEL_MOVE, Action.LABEL} <= actions


def test_an_outside_requester_asks_for_a_subscription_through_the_link(
    client, team, line, alice, cloud
):
    image_id = acme_image(cloud)
    services.line_publish(line=line, actor=alice, image_id=image_id)
    token = services.request_link_rotate(team=team)
    url = f"/r/{token}/lines/web-base/"
    assert "Subscribe to" in client.get(url).content.decode()
    answer = client.post(
        url,
        {"name": "Gus", "email": "gus@globex.test", "member": GLOBEX, "justification": "CI"},
    )
    asked = AccessRequest.objects.get(line=line)
    assert answer["Location"] == f"/r/status/{asked.status_token}/"
    assert (asked.via_link, asked.requester_email) == (True, "gus@globex.test")
    client.force_login(alice)
    client.post(f"/t/acme/requests/{asked.pk}/approve/")
    assert cloud.member_status(image_id, GLOBEX) == "pending"


def test_the_line_link_of_a_revoked_or_wrong_token_is_404(client, team, line):
    assert client.get("/r/nope/lines/web-base/").status_code == 404
    token = services.request_link_rotate(team=team)
    assert client.get(f"/r/{token}/lines/other/").status_code == 404


def test_under_the_four_eyes_policy_an_admins_subscription_waits_for_another_admin(
    client, team, line, alice, cloud
):
    team.approval_policy = "everyone"
    team.save()
    client.force_login(alice)
    answer = client.post(URL + "subscribers/", {"members": GLOBEX, "note": "pilot"}, follow=True)
    assert "waits for an admin's decision" in message_text(answer)
    asked = AccessRequest.objects.get(line=line)
    assert not line.subscribers.exists()
    refused = client.post(f"/t/acme/requests/{asked.pk}/approve/", follow=True)
    assert "another admin" in message_text(refused)
    assert not line.subscribers.exists()


def test_a_viewer_files_a_request_too(client, line, carol, cloud):
    client.force_login(carol)
    client.post(URL + "subscribers/", {"members": INITECH, "note": "for our tests"})
    assert AccessRequest.objects.get(line=line).tenant == INITECH
