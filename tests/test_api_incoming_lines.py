"""The API's consumer side of lines: what a pipeline resolves to boot, and the trust rules."""

import pytest

from sharing.models import Action, Channel, LedgerEntry, RuleMode, TrustRule

from .api import ApiClient, token_for
from .conftest import ACME, GLOBEX, INITECH


@pytest.fixture
def as_alice(team, alice) -> ApiClient:
    return ApiClient(token_for(alice, team))


@pytest.fixture
def as_carol(team, carol) -> ApiClient:
    return ApiClient(token_for(carol, team))


def offer(cloud, owner, name, **properties):
    image_id = cloud.create_image(owner=owner, region="IAD", name=name, **properties)["id"]
    cloud.add_member(image_id, ACME, "pending")
    return image_id


def test_incoming_lines_answer_versions_newest_first_and_the_newest_active(as_carol, cloud):
    v1 = offer(cloud, INITECH, "tps 1", image_line="tps", image_line_version="1")
    v2 = offer(cloud, INITECH, "tps 2", image_line="tps", image_line_version="2",
               image_line_state="deprecated", image_line_replacement=v1)  # fmt: skip
    offer(cloud, GLOBEX, "plain image")
    response = as_carol.get("/api/v1/teams/acme/incoming/lines/?region=IAD")
    assert response.status_code == 200
    assert response.json() == {
        "results": [
            {
                "owner": INITECH,
                "line": "tps",
                "versions": [
                    {"image_id": v2, "version": 2, "state": "deprecated", "replacement": v1},
                    {"image_id": v1, "version": 1, "state": "active", "replacement": None},
                ],
                "newest_active": {"image_id": v1, "version": 1},
            }
        ]
    }


def test_a_line_with_every_version_deprecated_has_no_newest_active(as_carol, cloud):
    offer(cloud, GLOBEX, "old", image_line="web", image_line_version="4",
          image_line_state="deprecated")  # fmt: skip
    [line] = as_carol.get("/api/v1/teams/acme/incoming/lines/").json()["results"]
    assert line["newest_active"] is None


def test_the_incoming_paths_are_not_taken_for_image_ids(as_alice, cloud):
    # `/incoming/{image_id}/` answers one image: `lines` and `rules` are not image IDs.
    assert as_alice.get("/api/v1/teams/acme/incoming/lines/").status_code == 200
    made = as_alice.post("/api/v1/teams/acme/incoming/rules/", {"owner": GLOBEX, "mode": "audit"})
    assert made.status_code == 201
    assert not LedgerEntry.objects.filter(action=Action.ACCEPT).exists()


def test_an_admin_adds_lists_and_deletes_rules_ledgered_from_the_api(as_alice, team):
    body = {"owner": GLOBEX, "line": "web-base", "mode": "enforce"}
    made = as_alice.post("/api/v1/teams/acme/incoming/rules/", body)
    assert made.status_code == 201
    rule = made.json()
    assert (rule["owner"], rule["line"], rule["mode"], rule["created_by"]) == (
        GLOBEX, "web-base", "enforce", "alice",
    )  # fmt: skip
    listed = as_alice.get("/api/v1/teams/acme/incoming/rules/").json()
    assert [r["id"] for r in listed] == [rule["id"]]
    gone = as_alice.delete(f"/api/v1/teams/acme/incoming/rules/{rule['id']}/")
    assert gone.status_code == 204
    assert not TrustRule.objects.exists()
    entries = LedgerEntry.objects.order_by("id")
    assert [(e.action, e.channel) for e in entries] == [
        (Action.RULE_CREATE, Channel.API),
        (Action.RULE_DELETE, Channel.API),
    ]


def test_an_owner_wide_rule_answers_line_null(as_alice):
    made = as_alice.post("/api/v1/teams/acme/incoming/rules/", {"owner": INITECH, "mode": "audit"})
    assert made.json()["line"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"owner": ACME, "mode": "audit"}, "owner"),
        ({"owner": "abc", "mode": "audit"}, "owner"),
        ({"owner": GLOBEX, "line": "not a slug", "mode": "audit"}, "line"),
        ({"owner": GLOBEX, "mode": "sometimes"}, "mode"),
    ],
)
def test_bad_rules_are_a_400_naming_the_field_and_change_nothing(as_alice, body, field):
    response = as_alice.post("/api/v1/teams/acme/incoming/rules/", body)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"]
    assert not TrustRule.objects.exists() and not LedgerEntry.objects.exists()


def test_a_duplicate_rule_is_a_409_and_changes_nothing(as_alice, team):
    TrustRule.objects.create(team=team, owner=GLOBEX, line="web-base", mode=RuleMode.AUDIT)
    body = {"owner": GLOBEX, "line": "web-base", "mode": "enforce"}
    response = as_alice.post("/api/v1/teams/acme/incoming/rules/", body)
    assert response.status_code == 409
    assert "exists already" in response.json()["detail"]
    assert TrustRule.objects.get().mode == RuleMode.AUDIT


def test_a_viewer_reads_rules_but_may_not_change_them(as_carol, team):
    rule = TrustRule.objects.create(team=team, owner=GLOBEX, mode=RuleMode.AUDIT)
    assert as_carol.get("/api/v1/teams/acme/incoming/rules/").status_code == 200
    body = {"owner": INITECH, "mode": "audit"}
    assert as_carol.post("/api/v1/teams/acme/incoming/rules/", body).status_code == 403
    assert as_carol.delete(f"/api/v1/teams/acme/incoming/rules/{rule.pk}/").status_code == 403
    assert TrustRule.objects.count() == 1


def test_another_teams_rule_is_404(as_alice, other_team):
    rule = TrustRule.objects.create(team=other_team, owner=GLOBEX, mode=RuleMode.AUDIT)
    assert as_alice.delete(f"/api/v1/teams/acme/incoming/rules/{rule.pk}/").status_code == 404
    assert as_alice.get("/api/v1/teams/umbrella/incoming/rules/").status_code == 404
