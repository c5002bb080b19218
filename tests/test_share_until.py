""" "Share until 1 Jan 2027" ends at the end of 1 Jan 2027 in the team's time zone, and the pages
show the day that was picked, with the exact instant on hover."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from sharing.models import AccessRequest, Share, Team

from .conftest import GLOBEX, acme_image

PICKED = "2027-01-01"


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Chicago", "UTC"])
def test_a_share_until_a_day_ends_at_the_end_of_that_day_in_the_teams_time_zone(
    client, alice, cloud, team, zone
):
    team.time_zone = zone
    team.save()
    image_id = acme_image(cloud)
    client.force_login(alice)
    client.post(f"/t/acme/images/{image_id}/share/", {"members": GLOBEX, "expires_at": PICKED})
    share = Share.objects.get(tenant=GLOBEX)
    local = share.expires_at.astimezone(ZoneInfo(zone))
    assert (local.date().isoformat(), local.hour, local.minute) == (PICKED, 23, 59)

    page = client.get(f"/t/acme/images/{image_id}/").text
    assert ">until 1 Jan 2027</time>" in page
    assert f"Ends 2027-01-01 23:59:59 {zone}" in page  # the exact instant, on hover


def test_a_requested_end_date_is_shown_as_the_day_picked(client, bob, alice, cloud, team):
    team.time_zone = "America/Chicago"
    team.save()
    image_id = acme_image(cloud, name="web-base")
    client.force_login(bob)
    client.post(
        "/t/acme/requests/new/",
        {"image_id": image_id, "member": GLOBEX, "justification": "CRM", "expires_at": PICKED},
    )
    found = AccessRequest.objects.get()
    assert found.share_until == datetime(2027, 1, 1, 23, 59, 59, 999999, ZoneInfo(team.time_zone))
    client.force_login(alice)
    assert ">until 1 Jan 2027</time>" in client.get(f"/t/acme/requests/{found.pk}/").text
    assert ">until 1 Jan 2027</time>" in client.get("/t/acme/requests/").text


def test_the_time_zone_is_a_team_setting_checked_against_the_zone_database(client, alice, cloud):
    client.force_login(alice)
    fields = {
        "approval_policy": "members",
        "max_share_days": "365",
        "request_expiry_days": "14",
        "reminder_days": "3",
    }
    refused = client.post("/t/acme/settings/", {**fields, "time_zone": "Mars/Olympus"})
    assert "“Mars/Olympus” is not a time zone name" in refused.text
    client.post("/t/acme/settings/", {**fields, "time_zone": "Europe/Berlin"})
    assert Team.objects.get(slug="acme").time_zone == "Europe/Berlin"
    client.post("/t/acme/settings/", fields)  # left empty: the server's
    assert Team.objects.get(slug="acme").time_zone == "UTC"
