"""Smaller things a demanding user noticed: navigation, messages, names, filters, repeats."""

import io

from django.core.management import call_command

from sharing.models import Action, LedgerEntry, Partner, Team

from .conftest import GLOBEX, INITECH, acme_image


def test_a_second_submit_of_the_same_share_is_harmless_and_said_so(client, alice, cloud):
    image_id = acme_image(cloud)
    client.force_login(alice)
    url = f"/t/acme/images/{image_id}/share/"
    client.post(url, {"members": GLOBEX})
    again = client.post(url, {"members": GLOBEX}, follow=True)
    assert [m.member_id for m in cloud.members(image_id)] == [GLOBEX]
    assert f"Already shared with {GLOBEX} (pending)." in again.text
    first, second = LedgerEntry.objects.filter(action=Action.SHARE).order_by("id")
    assert (first.message, second.message) == ("", "Already shared (pending).")


def test_the_success_message_names_a_partner_picked_by_name(client, alice, cloud, team):
    globex = Partner.objects.create(team=team, tenant=GLOBEX, name="Globex")
    image_id = acme_image(cloud)
    client.force_login(alice)
    response = client.post(
        f"/t/acme/images/{image_id}/share/",
        {"partners": [globex.pk], "members": INITECH},
        follow=True,
    )
    assert f"Shared with {INITECH}, Globex {GLOBEX}: pending until they accept." in response.text


def test_the_not_allowed_page_keeps_the_navigation(client, carol, cloud):
    client.force_login(carol)
    response = client.get("/t/acme/settings/")
    assert response.status_code == 403
    assert 'aria-label="Team pages"' in response.text
    assert "Not allowed" in response.text


def test_every_page_has_a_skip_link_and_messages_are_not_a_list_with_a_status_role(
    client, alice, cloud
):
    image_id = acme_image(cloud)
    client.force_login(alice)
    response = client.post(f"/t/acme/images/{image_id}/share/", {"members": GLOBEX}, follow=True)
    assert '<a class="skip-link" href="#main">' in response.text
    assert '<div class="messages" role="status">' in response.text
    assert '<ul class="messages"' not in response.text


def test_the_history_filters_by_image_name_and_offers_clear(client, alice, cloud):
    web = acme_image(cloud, name="Ubuntu web base")
    db = acme_image(cloud, name="Postgres")
    client.force_login(alice)
    for image_id in (web, db):
        client.post(f"/t/acme/images/{image_id}/share/", {"members": GLOBEX})
    response = client.get("/t/acme/history/?image=web")
    assert {e.image_id for e in response.context["entries"]} == {web}
    assert ">Clear</a>" in response.text
    by_id = client.get(f"/t/acme/history/?image={db}")
    assert {e.image_id for e in by_id.context["entries"]} == {db}


def test_the_images_list_sorts_by_name_both_ways(client, carol, cloud):
    for name in ("beta", "alpha", "gamma"):
        acme_image(cloud, name=name)
    client.force_login(carol)

    def names(query):
        rows = client.get(f"/t/acme/images/?{query}").context["rows"]
        return [image.name for image, _ in rows]

    assert names("sort=name") == ["alpha", "beta", "gamma"]
    assert names("sort=-name") == ["gamma", "beta", "alpha"]


def test_the_incoming_page_is_named_as_in_the_nav_and_counts_pending_shares(client, alice, cloud):
    image = cloud.create_image(owner=GLOBEX, region="IAD", name="Globex CRM")
    cloud.add_member(image["id"], "100001")
    client.force_login(alice)
    incoming = client.get("/t/acme/incoming/").text
    assert "<h1>Incoming" in incoming
    assert "data-confirm=" in incoming  # rejecting asks first
    assert 'waiting for an answer">1</span>' in client.get("/t/acme/history/").text


def test_connect_cloud_names_a_new_team_in_words(db, cloud, monkeypatch):
    monkeypatch.setenv("CLOUD_SECRET", "demo-api-key")
    call_command(
        "connect_cloud", "globex-corp", "--auth", "rackspace-apikey",
        "--identity-url", "http://cloud.demo.invalid/identity", "--username", "globex-admin",
        "--region", "iad", stdout=io.StringIO(),
    )  # fmt: skip
    assert Team.objects.get(slug="globex-corp").name == "Globex Corp"


def test_the_request_link_settings_offer_copy_and_warn_when_no_image_is_offered(
    client, alice, cloud
):
    acme_image(cloud, name="web-base")
    client.force_login(alice)
    client.post("/t/acme/settings/link/rotate/")
    text = client.get("/t/acme/settings/").text
    assert 'data-copy="request-link"' in text
    assert "No image is offered yet" in text


def test_the_public_form_asks_to_choose_an_image_and_the_status_page_to_be_bookmarked(
    client, cloud, team
):
    image_id = acme_image(cloud, name="web-base")
    team.request_link_token = "tok"
    team.request_link_images = [image_id]
    team.save()
    form = client.get("/r/tok/").text
    assert '<option value="" selected>Choose an image</option>' in form
    response = client.post(
        "/r/tok/",
        {"name": "Olga", "email": "olga@example.com", "member": INITECH, "image_id": image_id,
         "justification": "Evaluation"},
        follow=True,
    )  # fmt: skip
    assert "Bookmark this page" in response.text


def test_an_outage_while_sharing_is_said_once_in_plain_words(client, alice, cloud):
    image_id = acme_image(cloud)
    cloud.add_fault("error", route="member_create", status=503)
    client.force_login(alice)
    response = client.post(f"/t/acme/images/{image_id}/share/", {"members": GLOBEX}, follow=True)
    text = " ".join(str(m) for m in response.context["messages"])
    assert text.startswith(f"Not shared with {GLOBEX}: The cloud is unavailable right now")
    assert text.count("try again") == 1
    assert "(request req-" in text
