"""The images list and one image's page."""

from sharing.models import Share

from .conftest import ACME, GLOBEX, INITECH, acme_image


def test_it_lists_the_teams_images_with_share_counts_from_our_records(client, alice, cloud):
    web = acme_image(cloud, name="web-base")
    acme_image(cloud, name="db-base", visibility="private")
    cloud.create_image(owner=GLOBEX, name="globex thing")
    client.force_login(alice)
    client.post(f"/t/acme/images/{web}/share/", {"members": f"{GLOBEX}, {INITECH}"})
    cloud.reset_counters()

    response = client.get("/t/acme/images/")
    assert "web-base" in response.text
    assert "db-base" in response.text
    assert "globex thing" not in response.text
    assert "2 <small" in response.text  # shared with two tenants
    # One list call for the page: no call per image and no identity call.
    assert cloud.calls() == cloud.calls("images_list") == 1


def test_it_filters_by_visibility_and_exact_name(client, carol, cloud):
    acme_image(cloud, name="web-base")
    acme_image(cloud, name="db-base", visibility="private")
    client.force_login(carol)
    private = client.get("/t/acme/images/?visibility=private")
    assert "db-base" in private.text and "web-base" not in private.text
    named = client.get("/t/acme/images/?name=web-base")
    assert "web-base" in named.text and "db-base" not in named.text


def test_it_pages_with_the_upstream_marker(client, carol, cloud):
    for n in range(30):
        acme_image(cloud, name=f"image-{n:02}")
    client.force_login(carol)
    first = client.get("/t/acme/images/")
    assert len(first.context["rows"]) == 25
    marker = first.context["page"].next_marker
    second = client.get(f"/t/acme/images/?marker={marker}")
    assert len(second.context["rows"]) == 5
    names = {image.name for image, _ in first.context["rows"] + second.context["rows"]}
    assert len(names) == 30


def test_an_empty_account_gets_an_empty_state(client, carol, cloud):
    client.force_login(carol)
    assert "no images in IAD yet" in client.get("/t/acme/images/").text


def test_an_upstream_error_is_shown_in_plain_words_with_the_request_id(client, carol, cloud):
    cloud.add_fault("error", route="images_list", status=503)
    client.force_login(carol)
    response = client.get("/t/acme/images/")
    assert response.status_code == 200
    assert "could not be listed" in response.text
    assert "(request req-" in response.text


def test_wrong_credentials_are_explained(client, carol, cloud, team):
    team.set_secret("wrong-key")
    team.save()
    client.force_login(carol)
    response = client.get("/t/acme/images/")
    assert "rejected the credentials" in response.text


def test_an_image_name_with_markup_is_rendered_as_text(client, alice, cloud):
    image_id = acme_image(cloud, name="<script>alert(1)</script>")
    client.force_login(alice)
    for url in ("/t/acme/images/", f"/t/acme/images/{image_id}/"):
        text = client.get(url).text
        assert "<script>alert(1)</script>" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_the_image_page_shows_members_with_partner_status_and_outside_shares(client, alice, cloud):
    image_id = acme_image(cloud, name="web-base")
    client.force_login(alice)
    client.post(f"/t/acme/images/{image_id}/share/", {"members": GLOBEX})
    cloud.add_member(image_id, INITECH, "accepted")  # shared outside the dashboard
    response = client.get(f"/t/acme/images/{image_id}/")
    rows = {row.tenant: row for row in response.context["members"]}
    assert rows[GLOBEX].status == "pending" and not rows[GLOBEX].outside
    assert rows[INITECH].status == "accepted" and rows[INITECH].outside
    assert "outside the dashboard" in response.text
    assert "2 of 128 members" in response.text
    assert "Share this image" in response.text


def test_a_viewer_sees_the_image_page_without_buttons(client, carol, cloud):
    image_id = acme_image(cloud)
    cloud.add_member(image_id, GLOBEX)
    client.force_login(carol)
    response = client.get(f"/t/acme/images/{image_id}/")
    assert GLOBEX in response.text
    assert ">Revoke<" not in response.text
    assert ">Share<" not in response.text


def test_a_private_image_explains_that_it_has_no_members(client, alice, cloud):
    image_id = acme_image(cloud, visibility="private")
    client.force_login(alice)
    response = client.get(f"/t/acme/images/{image_id}/")
    assert "Only shared images have members" in response.text


def test_an_unknown_image_redirects_with_a_message(client, alice, cloud):
    client.force_login(alice)
    response = client.get("/t/acme/images/nope/", follow=True)
    assert "There is no image nope in IAD" in response.text


def test_the_region_comes_from_the_query_and_defaults_to_the_team_default(client, carol, cloud):
    cloud.create_image(owner=ACME, region="DFW", name="dallas-only")
    client.force_login(carol)
    assert "dallas-only" not in client.get("/t/acme/images/").text
    assert "dallas-only" in client.get("/t/acme/images/?region=DFW").text
    assert Share.objects.count() == 0
