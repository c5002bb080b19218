"""Every team URL × every role × GET and POST, generated from the URLconf.

The expected answer comes from the role table in docs/design.md: auditors read the history and
export it (and keep their own API tokens), viewers see everything and may file (and cancel)
access requests, members may also share, admins do the rest. Anonymous
visitors are sent to log in, another team's admin gets 404. Wherever a request is refused,
nothing changed: no ledger entry, no change in the database, no call that changes the cloud.

A URL added to `sharing.urls.team_patterns` without a row in RULES fails
`test_every_team_url_has_a_rule`, so nothing new goes unchecked.
"""

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, reverse

from sharing import services
from sharing.models import AccessRequest, Partner, Role
from sharing.urls import team_patterns
from sharing.webhooks import services as webhooks

from .conftest import ACME, GLOBEX, INITECH, acme_image, make_user

AUDITOR, VIEWER, MEMBER, ADMIN = Role.AUDITOR, Role.VIEWER, Role.MEMBER, Role.ADMIN

# name → {method: least role, or None where the method is not allowed (405)}
RULES = {
    "images": {"GET": VIEWER, "POST": None},
    "image": {"GET": VIEWER, "POST": None},
    "image_share": {"GET": None, "POST": MEMBER},
    "member_revoke": {"GET": None, "POST": ADMIN},
    "incoming": {"GET": VIEWER, "POST": None},
    "incoming_set": {"GET": None, "POST": ADMIN},
    # Trust rules: everyone sees them and what they did; admins add and delete them.
    "incoming_rules": {"GET": VIEWER, "POST": ADMIN},
    "incoming_rule_delete": {"GET": None, "POST": ADMIN},
    "requests": {"GET": VIEWER, "POST": None},
    "request_new": {"GET": VIEWER, "POST": VIEWER},
    "request": {"GET": VIEWER, "POST": None},
    "request_approve": {"GET": None, "POST": ADMIN},
    "request_reject": {"GET": None, "POST": ADMIN},
    "request_cancel": {"GET": None, "POST": VIEWER},
    "history": {"GET": AUDITOR, "POST": None},
    "history_csv": {"GET": AUDITOR, "POST": None},
    "partners": {"GET": VIEWER, "POST": ADMIN},
    "partner_delete": {"GET": None, "POST": ADMIN},
    "team_settings": {"GET": ADMIN, "POST": ADMIN},
    "link_rotate": {"GET": None, "POST": ADMIN},
    "link_revoke": {"GET": None, "POST": ADMIN},
    "link_images": {"GET": None, "POST": ADMIN},
    # Everyone manages their own API tokens; a token never acts beyond its user's role.
    "api_tokens": {"GET": AUDITOR, "POST": AUDITOR},
    "api_token_revoke": {"GET": None, "POST": AUDITOR},
    # Image lines: everyone sees them and may ask for a subscription; admins do the rest.
    "lines": {"GET": VIEWER, "POST": ADMIN},
    "line": {"GET": VIEWER, "POST": None},
    "line_publish": {"GET": None, "POST": ADMIN},
    "line_subscribers": {"GET": None, "POST": VIEWER},
    "line_subscriber_remove": {"GET": None, "POST": ADMIN},
    "line_channel": {"GET": None, "POST": ADMIN},
    "line_version_deprecate": {"GET": None, "POST": ADMIN},
    "line_version_restore": {"GET": None, "POST": ADMIN},
    # Webhooks: admins only.
    "webhooks": {"GET": ADMIN, "POST": ADMIN},
    "webhook": {"GET": ADMIN, "POST": None},
    "webhook_ping": {"GET": None, "POST": ADMIN},
    "webhook_rotate": {"GET": None, "POST": ADMIN},
    "webhook_disable": {"GET": None, "POST": ADMIN},
    "webhook_enable": {"GET": None, "POST": ADMIN},
    "webhook_delete": {"GET": None, "POST": ADMIN},
    "webhook_redeliver": {"GET": None, "POST": ADMIN},
}

# What a POST carries: data that succeeds where the role is allowed, so a refusal is a refusal.
POSTS = {
    "image_share": {"members": INITECH, "note": "matrix"},
    "member_revoke": {"note": "matrix"},
    "request_new": {"image_id": "{image}", "member": INITECH, "justification": "matrix"},
    "request_reject": {"note": "matrix"},
    "partners": {"name": "Initech", "tenant": INITECH},
    "incoming_rules": {"owner": INITECH, "line": "tps", "mode": "audit"},
    "team_settings": {
        "approval_policy": "members",
        "max_share_days": "30",
        "request_expiry_days": "7",
        "reminder_days": "2",
    },
    "link_images": {"images": "{image}"},
    "api_tokens": {"name": "matrix"},
    "lines": {"name": "Matrix", "slug": "matrix", "region": "IAD"},
    "line_publish": {"image_id": "{image}"},
    "line_subscribers": {"members": INITECH, "note": "matrix"},
    "line_channel": {"image_id": "{image}", "note": "matrix"},
    "line_version_deprecate": {"replacement": "{image}", "revoke_on": "2999-01-01"},
    "webhooks": {"url": "http://127.0.0.1:9/hook", "events": "share.succeeded"},
}

RANKS = {AUDITOR: 0, VIEWER: 1, MEMBER: 2, ADMIN: 3}
WHO = ["anonymous", "auditor", "viewer", "member", "admin", "outsider"]
MUTATING_ROUTES = [
    "image_create", "image_patch", "image_delete", "image_upload",
    "member_create", "member_update", "member_delete",
]  # fmt: skip


def _patterns() -> list[URLPattern]:
    """The team URLs, those of included URLconfs (webhooks) too."""
    found: list[URLPattern] = []
    for pattern in team_patterns:
        if isinstance(pattern, URLResolver):
            found += [p for p in pattern.url_patterns if isinstance(p, URLPattern)]
        elif isinstance(pattern, URLPattern):
            found.append(pattern)
    return found


def _names() -> list[str]:
    return [p.name for p in _patterns()]


def test_every_team_url_has_a_rule():
    assert sorted(_names()) == sorted(RULES), "add the new URL's roles to RULES"


@pytest.fixture
def world(cloud, team, other_team, alice, bob, carol, dave):
    """An image shared with Globex, an image Globex shares with acme, an open request filed by
    a second admin (so alice may decide it), a partner and a request link."""
    image = acme_image(cloud, name="web-base", visibility="shared")
    cloud.add_member(image, GLOBEX)
    incoming = cloud.create_image(owner=GLOBEX, region="IAD", name="globex-base")["id"]
    cloud.add_member(incoming, ACME)
    erin = make_user("erin")
    team.memberships.create(user=erin, role=ADMIN)
    services.request_link_rotate(team=team)
    open_request = services.access_request_create(
        team=team,
        region="IAD",
        image_id=image,
        tenant=INITECH,
        justification="pilot",
        share_until=None,
        requested_by=erin,
    )
    partner = Partner.objects.create(team=team, name="Globex", tenant=GLOBEX, added_by=erin)
    rule = services.trust_rule_create(team=team, actor=erin, owner=GLOBEX, mode="audit")
    line = services.line_create(team=team, actor=erin, name="Web", slug="web", region="IAD")
    services.line_publish(line=line, actor=erin, image_id=image)
    services.subscriber_add(line=line, actor=erin, tenant=GLOBEX)
    endpoint, _ = webhooks.endpoint_create(
        team=team, actor=erin, url="http://127.0.0.1:9/hook", event_types=["share.succeeded"]
    )
    delivery = webhooks.endpoint_ping(endpoint=endpoint)  # nothing listens: a failed delivery
    kwargs = {
        "image_id": image,
        "tenant": GLOBEX,
        "decision": "accept",
        "pk": open_request.pk,
        "slug": "web",
        "name": "stable",
    }
    audrey = make_user("audrey")
    team.memberships.create(user=audrey, role=AUDITOR)
    users = {"auditor": audrey, "viewer": carol, "member": bob, "admin": alice, "outsider": dave}
    # Each person's own token, to revoke; the outsider's is for another team.
    tokens = {
        who: services.api_token_create(
            user=user, team=other_team if who == "outsider" else team, name="matrix"
        )[0].pk
        for who, user in users.items()
    }
    return {
        "tokens": tokens,
        "image": image,
        "incoming": incoming,
        "kwargs": kwargs,
        "users": users,
        "partner": partner.pk,
        "rule": rule.pk,
        "endpoint": endpoint.pk,
        "delivery": delivery.pk,
        "cloud": cloud,
    }


def _url(name: str, world: dict, who: str = "admin") -> str:
    pattern = next(p for p in _patterns() if p.name == name)
    wanted = set(pattern.pattern.regex.groupindex)
    kwargs = {key: value for key, value in world["kwargs"].items() if key in wanted}
    if name == "incoming_set":
        kwargs["image_id"] = world["incoming"]
    if name == "partner_delete":
        kwargs["pk"] = world["partner"]
    if name == "incoming_rule_delete":
        kwargs["pk"] = world["rule"]
    if name.startswith("webhook_") or name == "webhook":
        kwargs["pk"] = world["endpoint"]
    if name == "webhook_redeliver":
        kwargs["delivery_pk"] = world["delivery"]
    if name == "api_token_revoke":
        kwargs["pk"] = world["tokens"].get(who, world["tokens"]["admin"])
    return reverse(name, kwargs={"team_slug": "acme", **kwargs}) + "?region=IAD"


def _expected(least: str | None, who: str) -> set[int]:
    if who == "anonymous":
        return {302}  # to the login page, whatever the method
    if least is None:
        return {405}
    if who == "outsider":
        return {404}
    if RANKS[Role(who)] < RANKS[least]:
        return {403}
    return {200, 302}


def _snapshot(cloud) -> tuple:
    """Every row of the app's tables, and the count of cloud calls that change something."""
    rows = tuple(
        tuple(model.objects.order_by("pk").values_list())
        for app in ("sharing", "webhooks")
        for model in apps.get_app_config(app).get_models()
    )
    return rows, tuple(cloud.calls(route) for route in MUTATING_ROUTES)


CASES = [
    pytest.param(name, method, who, id=f"{name}-{method}-{who}")
    for name in sorted(RULES)
    for method in ("GET", "POST")
    for who in WHO
]


@pytest.mark.parametrize(("name", "method", "who"), CASES)
def test_each_role_gets_the_designed_answer_and_a_refusal_changes_nothing(
    client, world, name, method, who
):
    if who != "anonymous":
        client.force_login(world["users"][who])
    url = _url(name, world, who)
    data = {key: value.format(image=world["image"]) for key, value in POSTS.get(name, {}).items()}
    before = _snapshot(world["cloud"])
    response = client.get(url) if method == "GET" else client.post(url, data)
    expected = _expected(RULES[name][method], who)
    assert response.status_code in expected, (name, method, who, response.status_code)
    if who == "anonymous":
        assert response["Location"].startswith("/accounts/login/")
    if expected != {200, 302}:
        assert _snapshot(world["cloud"]) == before, "a refused request changed something"


def test_an_allowed_post_does_change_something(client, world):
    """The matrix's data is real: the same POST an outsider is refused works for the admin."""
    client.force_login(world["users"]["admin"])
    before = AccessRequest.objects.filter(status="pending").count()
    url = _url("request_reject", world)
    client.post(url, POSTS["request_reject"])
    assert AccessRequest.objects.filter(status="pending").count() == before - 1
