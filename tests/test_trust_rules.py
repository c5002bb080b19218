"""Trust rules: the sync accepts (enforce) or says what it would accept (audit) among the
images shared with the team that wait for its answer; never a deprecated version, never from
an owner not named. Through the built-in cloud and the real sync."""

import pytest

from sharing import services
from sharing.models import Action, Channel, LedgerEntry, Outcome, RuleMode, TrustRule
from sharing.services import InvalidInput, RuleExists

from .conftest import ACME, GLOBEX, INITECH
from .webhooks import add_endpoint


def offer(cloud, owner, name, status="pending", **properties):
    """An image of `owner` shared with acme, carrying line `properties`; returns its ID."""
    image_id = cloud.create_image(owner=owner, region="IAD", name=name, **properties)["id"]
    cloud.add_member(image_id, ACME, status)
    return image_id


def version(cloud, owner, line, number, state="active", **extra):
    return offer(
        cloud, owner, f"{line} v{number}", image_line=line, image_line_version=str(number),
        image_line_state=state, **extra,
    )  # fmt: skip


def rule(team, owner, mode, line="", actor=None):
    return services.trust_rule_create(team=team, actor=actor, owner=owner, line=line, mode=mode)


def sync(team):
    return services.team_reconcile(team=team)


def test_an_enforce_rule_accepts_the_named_owners_line_as_the_system_naming_the_rule(
    cloud, team, alice
):
    accepted = version(cloud, GLOBEX, "web-base", 2)
    other_line = version(cloud, GLOBEX, "db-base", 1)
    made = rule(team, GLOBEX, RuleMode.ENFORCE, line="web-base", actor=alice)
    line = sync(team)
    assert cloud.member_status(accepted, ACME) == "accepted"
    assert cloud.member_status(other_line, ACME) == "pending"
    entry = LedgerEntry.objects.get(action=Action.ACCEPT)
    assert (entry.image_id, entry.actor_name, entry.channel) == (accepted, "system", "system")
    assert entry.outcome == Outcome.SUCCEEDED
    assert f"Trust rule #{made.pk} (enforce)" in entry.note
    assert "1 accepted by rule" in line


def test_an_owner_wide_rule_accepts_plain_images_of_that_owner_only(cloud, team):
    plain = offer(cloud, GLOBEX, "Globex appliance")
    stranger = offer(cloud, INITECH, "Initech appliance")
    rule(team, GLOBEX, RuleMode.ENFORCE)
    sync(team)
    assert cloud.member_status(plain, ACME) == "accepted"
    assert cloud.member_status(stranger, ACME) == "pending"  # an owner not named


def test_a_rule_never_accepts_a_deprecated_version(cloud, team):
    old = version(cloud, GLOBEX, "web-base", 1, state="deprecated")
    rule(team, GLOBEX, RuleMode.ENFORCE, line="web-base")
    rule(team, INITECH, RuleMode.AUDIT)
    sync(team)
    assert cloud.member_status(old, ACME) == "pending"
    assert not LedgerEntry.objects.filter(action__in=[Action.ACCEPT, Action.RULE_AUDIT]).exists()


def test_an_audit_rule_records_once_what_it_would_accept_and_accepts_nothing(cloud, team):
    offered = offer(cloud, INITECH, "Initech TPS reports")
    made = rule(team, INITECH, RuleMode.AUDIT)
    sync(team)
    sync(team)
    assert cloud.member_status(offered, ACME) == "pending"
    [entry] = LedgerEntry.objects.filter(action=Action.RULE_AUDIT)
    assert (entry.image_id, entry.actor_name, entry.outcome) == (offered, "system", "succeeded")
    assert f"Trust rule #{made.pk} (audit)" in entry.note
    assert "would have accepted" in entry.note
    assert not LedgerEntry.objects.filter(action=Action.ACCEPT).exists()


def test_enforce_wins_over_audit_and_a_later_enforce_rule_accepts_what_audit_saw(cloud, team):
    offered = version(cloud, GLOBEX, "web-base", 3)
    audit = rule(team, GLOBEX, RuleMode.AUDIT)
    sync(team)
    assert cloud.member_status(offered, ACME) == "pending"
    services.trust_rule_delete(rule=audit, actor=None)
    rule(team, GLOBEX, RuleMode.ENFORCE, line="web-base")
    sync(team)
    assert cloud.member_status(offered, ACME) == "accepted"


def test_a_rule_leaves_alone_what_a_person_already_answered(cloud, team):
    rejected = offer(cloud, GLOBEX, "Rejected by us", status="rejected")
    rule(team, GLOBEX, RuleMode.ENFORCE)
    sync(team)
    assert cloud.member_status(rejected, ACME) == "rejected"


def test_a_failed_accept_is_recorded_and_tried_again_next_run(cloud, team):
    offered = offer(cloud, GLOBEX, "Globex appliance")
    rule(team, GLOBEX, RuleMode.ENFORCE)
    cloud.add_fault("error", route="member_update", status=403, times=1)
    sync(team)
    assert cloud.member_status(offered, ACME) == "pending"
    assert LedgerEntry.objects.get(action=Action.ACCEPT).outcome == Outcome.FAILED
    sync(team)
    assert cloud.member_status(offered, ACME) == "accepted"


def test_creating_and_deleting_a_rule_are_ledgered(team, alice):
    made = rule(team, GLOBEX, RuleMode.ENFORCE, line="web-base", actor=alice)
    services.trust_rule_delete(rule=made, actor=alice)
    entries = LedgerEntry.objects.order_by("id")
    assert [(e.action, e.actor_name, e.tenant) for e in entries] == [
        (Action.RULE_CREATE, "alice", GLOBEX),
        (Action.RULE_DELETE, "alice", GLOBEX),
    ]
    assert "accept line web-base from 100002" in entries[0].note
    assert entries[0].channel == Channel.WEB
    assert not TrustRule.objects.exists()


@pytest.mark.parametrize(
    ("owner", "line", "field", "words"),
    [
        (ACME, "", "owner", "this team's own account"),
        ("acme corp", "", "owner", "contains spaces"),
        ("12ab", "", "owner", "not a Rackspace account number"),
        (GLOBEX, "web base!", "line", "A line is a slug"),
        (GLOBEX, "x" * 51, "line", "A line is a slug"),
    ],
)
def test_bad_input_is_refused_clearly_and_changes_nothing(team, owner, line, field, words):
    with pytest.raises(InvalidInput) as refused:
        rule(team, owner, RuleMode.ENFORCE, line=line)
    assert (refused.value.field, words in refused.value.message) == (field, True)
    assert not TrustRule.objects.exists() and not LedgerEntry.objects.exists()


def test_a_rule_duplicating_another_is_refused_whatever_its_mode(team):
    rule(team, GLOBEX, RuleMode.AUDIT, line="web-base")
    with pytest.raises(RuleExists, match="exists already"):
        rule(team, GLOBEX, RuleMode.ENFORCE, line="web-base")
    assert TrustRule.objects.count() == 1
    assert LedgerEntry.objects.count() == 1


def test_an_unknown_mode_is_refused(team):
    with pytest.raises(InvalidInput, match="audit or enforce"):
        rule(team, GLOBEX, "sometimes")


# Webhooks


def test_a_pending_image_newly_seen_sends_incoming_received_once(cloud, team, receiver, committed):
    add_endpoint(team, receiver, events=["incoming.received"])
    offered = offer(cloud, GLOBEX, "Globex appliance")
    offer(cloud, INITECH, "Already accepted", status="accepted")
    with committed():
        sync(team)
        sync(team)
    [received] = receiver.received
    assert received.verified and received.event["type"] == "incoming.received"
    data = received.event["data"]
    assert (data["image_id"], data["owner"], data["status"]) == (offered, GLOBEX, "pending")
    assert data["region"] == "IAD"


def test_an_enforce_rules_accept_sends_incoming_auto_accepted(cloud, team, receiver, committed):
    add_endpoint(team, receiver, events=["incoming.auto_accepted", "member.status_changed"])
    offered = offer(cloud, GLOBEX, "Globex appliance")
    rule(team, GLOBEX, RuleMode.ENFORCE)
    with committed():
        sync(team)
    [sent] = receiver.received
    assert sent.verified and sent.event["type"] == "incoming.auto_accepted"
    data = sent.event["data"]
    assert (data["image_id"], data["action"], data["channel"]) == (offered, "accept", "system")
    assert "Trust rule #" in data["note"]
