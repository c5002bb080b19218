import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse

from sharing.access import team_for

TEAM_PAGES = ["images", "incoming", "requests", "history", "partners"]


@pytest.mark.parametrize("page", TEAM_PAGES)
def test_an_outsider_gets_404_for_every_team_page(client, dave, team, page):
    client.force_login(dave)
    assert client.get(reverse(page, args=["acme"])).status_code == 404


@pytest.mark.parametrize("page", TEAM_PAGES)
def test_anonymous_visitors_are_sent_to_login(client, team, page):
    url = reverse(page, args=["acme"])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


@pytest.mark.parametrize("page", TEAM_PAGES)
def test_a_viewer_sees_every_team_page(client, carol, cloud, page):
    client.force_login(carol)
    assert client.get(reverse(page, args=["acme"])).status_code == 200


def test_an_unknown_team_is_404_even_for_a_member_elsewhere(client, alice):
    client.force_login(alice)
    assert client.get("/t/nope/images/").status_code == 404


class TestTeamFor:
    """The helper itself, for the role ladder."""

    def _request(self, rf, user):
        request = rf.get("/")
        request.user = user
        return request

    def test_a_viewer_is_refused_an_admin_action(self, rf, carol):
        with pytest.raises(PermissionDenied):
            team_for(self._request(rf, carol), "acme", role="admin")

    def test_a_member_is_refused_an_admin_action_but_allowed_a_member_one(self, rf, bob):
        with pytest.raises(PermissionDenied):
            team_for(self._request(rf, bob), "acme", role="admin")
        assert team_for(self._request(rf, bob), "acme", role="member").team.slug == "acme"

    def test_an_admin_is_allowed_everything(self, rf, alice):
        for role in ("viewer", "member", "admin"):
            assert team_for(self._request(rf, alice), "acme", role=role).team.slug == "acme"

    def test_an_outsider_gets_404_not_403(self, rf, dave, team):
        with pytest.raises(Http404):
            team_for(self._request(rf, dave), "acme", role="viewer")
