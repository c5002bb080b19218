"""The shared cast: a team `acme` with an admin, a member and a viewer, and an outsider."""

import pytest
from django.contrib.auth.models import User

from sharing.models import AuthKind, Membership, Role, Team

PASSWORD = "correct horse battery"


def make_user(username: str) -> User:
    return User.objects.create_user(username, f"{username}@example.com", PASSWORD)


@pytest.fixture
def team(db) -> Team:
    team = Team(
        name="Acme",
        slug="acme",
        auth_kind=AuthKind.RACKSPACE_APIKEY,
        username="acme-admin",
        tenant_id="100001",
        regions=["IAD", "DFW"],
        default_region="IAD",
    )
    team.set_secret("demo-api-key")
    team.save()
    return team


@pytest.fixture
def other_team(db) -> Team:
    return Team.objects.create(name="Umbrella", slug="umbrella", tenant_id="100009")


def _member(team: Team, username: str, role: str) -> User:
    user = make_user(username)
    Membership.objects.create(user=user, team=team, role=role)
    return user


@pytest.fixture
def alice(team) -> User:
    return _member(team, "alice", Role.ADMIN)


@pytest.fixture
def bob(team) -> User:
    return _member(team, "bob", Role.MEMBER)


@pytest.fixture
def carol(team) -> User:
    return _member(team, "carol", Role.VIEWER)


@pytest.fixture
def dave(other_team) -> User:
    """An outsider: admin of another team."""
    return _member(other_team, "dave", Role.ADMIN)
