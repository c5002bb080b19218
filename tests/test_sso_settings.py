"""Single sign-on configuration: a map naming an unknown role, or an issuer that does not
answer or names itself differently, stops start-up with the variable's name."""

from sharing.models import Role
from sharing.signin import rolemap
from sharing.signin.discovery import DiscoveryError, discover

from . import sso_provider
from .test_settings import PRODUCTION, load_settings, run


def test_the_pattern_gives_each_team_its_strongest_role():
    groups = ["img-acme-viewer", "img-acme-admin", "img-globex-prod-auditor", "other", "img-x-boss"]
    assert rolemap.parse("img-{team}-{role}").roles(groups) == {
        "acme": "admin",
        "globex-prod": "auditor",
    }


def test_explicit_pairs_map_group_names_that_follow_no_pattern():
    mapping = rolemap.parse("Image Admins=acme:admin, Auditors=acme:auditor")
    assert mapping.roles(["Auditors"]) == {"acme": "auditor"}


def test_the_map_knows_exactly_the_team_roles():
    assert set(rolemap.ROLE_NAMES) == set(Role.values)


def test_a_map_naming_an_unknown_role_stops_start_up_naming_the_variable():
    result = load_settings(**PRODUCTION, OIDC_TEAM_ROLE_MAP="Image Admins=acme:owner")
    assert result.returncode != 0
    assert "OIDC_TEAM_ROLE_MAP: 'owner' is not a role" in result.stderr


def test_a_pattern_without_a_role_stops_start_up():
    result = load_settings(**PRODUCTION, OIDC_TEAM_ROLE_MAP="img-{team}")
    assert "OIDC_TEAM_ROLE_MAP: a pattern needs {team} and {role}" in result.stderr


def test_password_login_off_without_single_sign_on_stops_start_up():
    result = load_settings(**PRODUCTION, PASSWORD_LOGIN="0")
    assert "PASSWORD_LOGIN=0 needs OIDC_ISSUER" in result.stderr


def test_an_issuer_that_does_not_answer_stops_start_up_naming_the_variable():
    env = PRODUCTION | {"OIDC_ISSUER": "http://127.0.0.1:9", "OIDC_CLIENT_ID": "dashboard"}
    result = run(["manage.py", "check"], **env)
    assert result.returncode != 0
    assert "OIDC_ISSUER: no usable discovery document" in result.stderr


def test_an_issuer_that_names_itself_differently_is_refused_by_discovery():
    with sso_provider.running("http://testserver") as provider:
        assert discover(provider.issuer)["issuer"] == provider.issuer
        other = provider.issuer.replace("127.0.0.1", "localhost")
        try:
            discover(other)
        except DiscoveryError as error:
            assert "set OIDC_ISSUER to exactly the provider's issuer" in str(error)
        else:
            raise AssertionError("a mismatched issuer was accepted")
