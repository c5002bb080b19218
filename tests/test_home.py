from sharing.models import Membership, Role

from .conftest import PASSWORD, make_user


def test_logging_in_lands_on_the_team_images(client, alice, cloud):
    response = client.post(
        "/accounts/login/", {"login": "alice", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/t/acme/images/"


def test_a_wrong_password_is_refused_with_a_message(client, alice):
    response = client.post("/accounts/login/", {"login": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "The username and/or password you specified are not correct" in response.text


def test_the_login_page_shows_its_form(client, db):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert 'name="login"' in response.text
    assert 'name="password"' in response.text


def test_home_sends_anonymous_visitors_to_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_user_in_no_team_is_told_whom_to_ask(client, db):
    client.force_login(make_user("zed"))
    response = client.get("/")
    assert response.status_code == 200
    assert "You are not in a team yet" in response.text
    assert "zed" in response.text


def test_a_user_in_two_teams_gets_a_switcher_and_can_switch(client, alice, other_team, cloud):
    Membership.objects.create(user=alice, team=other_team, role=Role.VIEWER)
    client.force_login(alice)
    page = client.get("/t/acme/images/")
    assert 'id="team-switch"' in page.text
    assert '<option value="umbrella"' in page.text
    response = client.get("/?team=umbrella")
    assert response["Location"] == "/t/umbrella/images/"


def test_switching_to_a_team_one_is_not_in_falls_back_to_ones_own(client, alice, other_team):
    client.force_login(alice)
    assert client.get("/?team=umbrella")["Location"] == "/t/acme/images/"


def test_logging_out_ends_the_session(client, alice):
    client.force_login(alice)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/t/acme/images/").status_code == 302
