"""The incoming page groups images by owner and line, from the properties the owner's side
writes on each version (any owner's, on this dashboard or not); the trust rules page."""

from datetime import date

from sharing.models import Action, LedgerEntry, RuleMode, TrustRule

from .conftest import ACME, GLOBEX, INITECH, message_text


def offer(cloud, owner, name, status="pending", **properties):
    image_id = cloud.create_image(owner=owner, region="IAD", name=name, **properties)["id"]
    cloud.add_member(image_id, ACME, status)
    return image_id


def initech_line(cloud):
    """Initech (not on this dashboard) shares three versions of its line `tps`, the oldest
    deprecated in favour of the newest; and one plain image."""
    v3 = offer(cloud, INITECH, "TPS 3", image_line="tps", image_line_version="3",
               image_line_state="active")  # fmt: skip
    v1 = offer(
        cloud, INITECH, "TPS 1", status="accepted", image_line="tps", image_line_version="1",
        image_line_state="deprecated", image_line_replacement=v3, provided_until="2027-01-31",
    )  # fmt: skip
    v2 = offer(cloud, INITECH, "TPS 2", image_line="tps", image_line_version="2",
               image_line_state="active")  # fmt: skip
    plain = offer(cloud, GLOBEX, "Globex CRM appliance")
    return {"v1": v1, "v2": v2, "v3": v3, "plain": plain}


def test_incoming_groups_a_line_of_an_owner_not_on_this_dashboard_newest_first(
    client, carol, cloud
):
    ids = initech_line(cloud)
    client.force_login(carol)
    response = client.get("/t/acme/incoming/")
    [line] = response.context["lines"]
    assert (line.owner, line.line) == (INITECH, "tps")
    assert [v.number for v in line.versions] == [3, 2, 1]
    assert [v.state for v in line.versions] == ["active", "active", "deprecated"]
    old = line.versions[-1]
    assert (old.replacement, old.replacement_number) == (ids["v3"], 3)
    assert old.revoke_on == date(2027, 1, 31)
    assert line.newest_active.image.id == ids["v3"]
    assert [image.id for image, _ in response.context["rows"]] == [ids["plain"]]
    assert "revoked on 2027-01-31; use v3" in response.text


def test_the_page_says_what_a_member_status_means(client, carol, cloud):
    initech_line(cloud)
    client.force_login(carol)
    text = client.get("/t/acme/incoming/").text
    assert "“Reject” hides an image from this team's image lists" in text
    assert "it does not take away access (only the owner's revoke does)" in text


def test_untrusted_line_properties_are_tolerated(client, carol, cloud):
    offer(cloud, GLOBEX, "odd", image_line="x", image_line_version="soon",
          image_line_state="whatever")  # fmt: skip
    offer(cloud, GLOBEX, "odd 2", image_line="x", image_line_version="2",
          image_line_state="deprecated", provided_until="not a date")  # fmt: skip
    client.force_login(carol)
    response = client.get("/t/acme/incoming/")
    [line] = response.context["lines"]
    assert [(v.number, v.state, v.revoke_on) for v in line.versions] == [
        (2, "deprecated", None), (None, "active", None),
    ]  # fmt: skip
    assert line.newest_active.image.name == "odd"
    assert "revoke date not given" in response.text


def test_an_admin_can_answer_a_version_from_the_grouped_table(client, alice, cloud):
    ids = initech_line(cloud)
    client.force_login(alice)
    text = client.get("/t/acme/incoming/").text
    assert f"/t/acme/incoming/{ids['v2']}/accept/" in text
    client.post(f"/t/acme/incoming/{ids['v2']}/accept/?region=IAD")
    assert cloud.member_status(ids["v2"], ACME) == "accepted"


# The rules page


def test_everyone_sees_the_rules_and_only_admins_get_the_form(client, carol, alice, team):
    TrustRule.objects.create(team=team, owner=GLOBEX, line="web-base", mode=RuleMode.ENFORCE)
    client.force_login(carol)
    response = client.get("/t/acme/incoming/rules/")
    assert response.status_code == 200 and "web-base" in response.text
    assert "Add rule" not in response.text
    client.force_login(alice)
    assert "Add rule" in client.get("/t/acme/incoming/rules/").text


def test_an_admin_adds_a_rule_and_it_is_in_the_rules_history(client, alice, team):
    client.force_login(alice)
    response = client.post(
        "/t/acme/incoming/rules/", {"owner": GLOBEX, "line": "web-base", "mode": "enforce"},
        follow=True,
    )  # fmt: skip
    rule = TrustRule.objects.get()
    assert (rule.owner, rule.line, rule.mode, rule.created_by) == (
        GLOBEX, "web-base", "enforce", alice,
    )  # fmt: skip
    assert f"Trust rule #{rule.pk} (enforce): accept line web-base from {GLOBEX}" in (
        message_text(response)
    )
    assert [e.action for e in response.context["entries"]] == [Action.RULE_CREATE]


def test_bad_rules_are_refused_on_their_field_and_change_nothing(client, alice, team):
    client.force_login(alice)
    TrustRule.objects.create(team=team, owner=GLOBEX, line="", mode=RuleMode.AUDIT)
    for data, words in [
        ({"owner": ACME, "mode": "audit"}, "own account: pick another owner"),
        ({"owner": GLOBEX, "mode": "enforce"}, "exists already"),
        ({"owner": INITECH, "line": "not a slug", "mode": "audit"}, "A line is a slug"),
        ({"owner": INITECH, "mode": "always"}, "Select a valid choice"),
    ]:
        response = client.post("/t/acme/incoming/rules/", data)
        assert response.status_code == 200
        assert words in response.text
    assert TrustRule.objects.count() == 1
    assert not LedgerEntry.objects.exists()


def test_a_viewer_cannot_add_or_delete_rules(client, carol, team):
    rule = TrustRule.objects.create(team=team, owner=GLOBEX, mode=RuleMode.AUDIT)
    client.force_login(carol)
    data = {"owner": INITECH, "mode": "enforce"}
    assert client.post("/t/acme/incoming/rules/", data).status_code == 403
    assert client.post(f"/t/acme/incoming/rules/{rule.pk}/delete/").status_code == 403
    assert TrustRule.objects.count() == 1


def test_an_admin_deletes_a_rule_ledgered(client, alice, team):
    rule = TrustRule.objects.create(team=team, owner=GLOBEX, mode=RuleMode.AUDIT)
    client.force_login(alice)
    response = client.post(f"/t/acme/incoming/rules/{rule.pk}/delete/", follow=True)
    assert "What it accepted stays accepted" in message_text(response)
    assert not TrustRule.objects.exists()
    assert LedgerEntry.objects.get().action == Action.RULE_DELETE


def test_another_teams_rule_is_404(client, dave, team):
    rule = TrustRule.objects.create(team=team, owner=GLOBEX, mode=RuleMode.AUDIT)
    client.force_login(dave)
    assert client.post(f"/t/umbrella/incoming/rules/{rule.pk}/delete/").status_code == 404
    assert client.get("/t/acme/incoming/rules/").status_code == 404
