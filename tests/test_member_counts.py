"""The images list and the image page agree on member counts; a full image pages its members
and refuses new ones in plain words."""

import re

from django.core.management import call_command

from sharing.models import Team

from .conftest import GLOBEX, INITECH, acme_image


def listed_count(text: str, image_id: str) -> int:
    row = text[text.index(f"/t/acme/images/{image_id}/") :]
    return int(re.search(r'data-members="(\d+)"', row).group(1))


def page_count(text: str) -> int:
    return int(re.search(r'data-member-count="(\d+)"', text).group(1))


def test_after_a_sync_the_list_counts_members_added_outside_the_dashboard(
    client, alice, cloud, team
):
    ours = acme_image(cloud, name="ours")
    outside = acme_image(cloud, name="outside only")
    client.force_login(alice)
    client.post(f"/t/acme/images/{ours}/share/", {"members": GLOBEX})
    cloud.add_member(ours, INITECH, "accepted")  # outside the dashboard
    cloud.add_member(outside, GLOBEX)
    cloud.add_member(outside, INITECH)

    before = client.get("/t/acme/images/").text
    assert "no check with the cloud has run yet" in before

    call_command("sync_shares", stdout=open("/dev/null", "w"))  # noqa: SIM115
    listing = client.get("/t/acme/images/").text
    assert "as of the last check with the cloud" in listing
    assert Team.objects.get().last_synced_at is not None
    for image_id, expected in [(ours, 2), (outside, 2)]:
        image_page = client.get(f"/t/acme/images/{image_id}/").text
        assert listed_count(listing, image_id) == page_count(image_page) == expected


def test_an_image_at_the_member_limit_pages_its_members_finds_one_and_refuses_more(
    client, alice, cloud, settings
):
    settings.CLOUD_MEMBER_LIMIT = 60
    image_id = acme_image(cloud, name="full")
    for n in range(60):
        cloud.add_member(image_id, str(2000000 + n))
    client.force_login(alice)

    first = client.get(f"/t/acme/images/{image_id}/")
    assert len(first.context["members"]) == 50
    assert "60 of 60 members" in first.text
    assert "Limit reached: revoke a member first" in first.text
    assert re.search(r"<fieldset[^>]* disabled", first.text)
    second = client.get(f"/t/acme/images/{image_id}/?page=2")
    assert len(second.context["members"]) == 10
    found = client.get(f"/t/acme/images/{image_id}/?tenant=2000042")
    assert [row.tenant for row in found.context["members"]] == ["2000042"]
    by_tenant_desc = client.get(f"/t/acme/images/{image_id}/?sort=-tenant")
    assert by_tenant_desc.context["members"][0].tenant == "2000059"


def test_an_image_below_the_limit_offers_the_form(client, alice, cloud):
    image_id = acme_image(cloud)
    client.force_login(alice)
    text = client.get(f"/t/acme/images/{image_id}/").text
    assert "Limit reached" not in text
    assert not re.search(r"<fieldset[^>]* disabled", text)
