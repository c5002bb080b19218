"""Image lines, the owner's side: publishing versions to subscribers, channels, deprecation and
retention, through the real cloud client against the built-in cloud."""

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from sharing import services
from sharing.cloud import NotFound
from sharing.models import (
    Action,
    LedgerEntry,
    Line,
    LineChannel,
    Outcome,
    Partner,
    Share,
    VersionState,
)
from sharing.services import ApplicationError

from .conftest import ACME, GLOBEX, INITECH, acme_image

UMBRELLA = "100004"


@pytest.fixture
def line(team, alice, cloud) -> Line:
    return services.line_create(
        team=team, actor=alice, name="Acme web base", slug="web-base", region="IAD"
    )


def subscribe(line, alice, *tenants):
    for tenant in tenants:
        services.subscriber_add(line=line, actor=alice, tenant=tenant)


def publish(line, alice, image_id):
    return services.line_publish(line=line, actor=alice, image_id=image_id)


def today(team):
    return timezone.localdate(timezone=team.zone)


# Lines


def test_a_line_is_created_in_one_of_the_teams_regions_and_ledgered(team, alice, cloud):
    line = services.line_create(
        team=team, actor=alice, name="Web", slug="web", region="iad", keep=3, grace_days=7
    )
    assert (line.region, line.keep, line.grace_days) == ("IAD", 3, 7)
    entry = LedgerEntry.objects.get(action=Action.LINE_CREATE)
    assert entry.line == line and entry.outcome == Outcome.SUCCEEDED


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"slug": "web-base"}, "already has a line"),
        ({"region": "LON"}, "not one of the team's regions"),
        ({"keep": 0}, "keep must be at least 1"),
        ({"slug": "not a slug"}, "slug"),
    ],
)
def test_bad_line_settings_are_refused_and_change_nothing(line, team, alice, fields, says):
    values = {"name": "Other", "slug": "other", "region": "IAD", **fields}
    with pytest.raises(ApplicationError, match=says):
        services.line_create(team=team, actor=alice, **values)
    assert Line.objects.count() == 1


# Publish


def test_publishing_shares_the_new_version_with_every_subscriber_in_one_bulk_share(
    line, alice, cloud
):
    subscribe(line, alice, GLOBEX, INITECH)
    image_id = acme_image(cloud, "web-base-2026-12")
    result = publish(line, alice, image_id)
    assert result.created and result.version.number == 1
    assert {o.tenant: o.outcome for o in result.outcomes} == {
        GLOBEX: Outcome.SUCCEEDED,
        INITECH: Outcome.SUCCEEDED,
    }
    assert cloud.member_status(image_id, GLOBEX) == "pending"
    assert cloud.member_status(image_id, INITECH) == "pending"
    shares = LedgerEntry.objects.filter(action=Action.SHARE, image_id=image_id)
    assert {(e.tenant, e.line_id, e.line_version) for e in shares} == {
        (GLOBEX, line.pk, 1),
        (INITECH, line.pk, 1),
    }
    assert LineChannel.objects.get(line=line, name="latest").version == result.version


def test_publishing_writes_the_line_properties_on_the_image(line, alice, cloud):
    image_id = acme_image(cloud)
    publish(line, alice, image_id)
    extra = cloud.image(image_id).extra
    assert extra["image_line"] == "web-base"
    assert extra["image_line_version"] == "1"
    assert extra["image_line_state"] == "active"
    label = LedgerEntry.objects.get(action=Action.LABEL)
    assert label.outcome == Outcome.SUCCEEDED and label.http_status == 200


def test_versions_are_numbered_in_publish_order_and_latest_follows(line, alice, cloud):
    first, second = acme_image(cloud, "v1"), acme_image(cloud, "v2")
    publish(line, alice, first)
    publish(line, alice, second)
    assert [(v.number, v.image_id) for v in line.versions.order_by("number")] == [
        (1, first),
        (2, second),
    ]
    assert LineChannel.objects.get(line=line, name="latest").version.image_id == second
    moves = LedgerEntry.objects.filter(action=Action.CHANNEL_MOVE, line=line)
    assert moves.count() == 2


def test_publishing_the_same_image_twice_does_nothing_the_second_time(line, alice, cloud):
    subscribe(line, alice, GLOBEX)
    image_id = acme_image(cloud)
    publish(line, alice, image_id)
    creates = cloud.calls("member_create")
    again = publish(line, alice, image_id)
    assert not again.created and again.version.number == 1 and again.outcomes == []
    assert cloud.calls("member_create") == creates
    assert LedgerEntry.objects.filter(action=Action.PUBLISH).count() == 1


def test_a_subscriber_the_cloud_refuses_fails_with_its_reason_and_the_others_go_on(
    line, alice, cloud
):
    subscribe(line, alice, GLOBEX, INITECH, UMBRELLA)
    image_id = acme_image(cloud)
    cloud.member_limit = 2
    outcomes = publish(line, alice, image_id).outcomes
    failed = [o for o in outcomes if o.outcome == Outcome.FAILED]
    assert len(failed) == 1 and "member limit" in failed[0].error.message
    assert sum(o.outcome == Outcome.SUCCEEDED for o in outcomes) == 2
    entry = LedgerEntry.objects.get(action=Action.SHARE, tenant=failed[0].tenant)
    assert (entry.outcome, entry.http_status, entry.line_version) == (Outcome.FAILED, 413, 1)


def test_a_private_image_is_made_shared_when_published(line, alice, cloud):
    subscribe(line, alice, GLOBEX)
    image_id = acme_image(cloud, visibility="private")
    publish(line, alice, image_id)
    assert cloud.image(image_id).visibility == "shared"
    assert cloud.member_status(image_id, GLOBEX) == "pending"


def test_publishing_an_unknown_image_is_refused_and_changes_nothing(line, alice, cloud):
    with pytest.raises(NotFound):
        publish(line, alice, "6f1c2b8e-3d7a-4c55-9a43-0bd0f0b9b5d1")
    assert not line.versions.exists()


def test_publishing_an_image_of_another_region_is_refused(line, alice, cloud):
    image_id = cloud.create_image(owner=ACME, region="DFW", name="elsewhere")["id"]
    with pytest.raises(NotFound):
        publish(line, alice, image_id)
    assert not line.versions.exists()


def test_publishing_another_accounts_image_is_refused(line, alice, cloud):
    foreign = cloud.create_image(owner=GLOBEX, region="IAD", name="theirs", visibility="public")
    with pytest.raises(ApplicationError, match="another account"):
        publish(line, alice, foreign["id"])
    assert not line.versions.exists()


def test_an_image_of_another_line_is_not_published_twice(line, team, alice, cloud):
    other = services.line_create(team=team, actor=alice, name="DB", slug="db", region="IAD")
    image_id = acme_image(cloud)
    publish(other, alice, image_id)
    with pytest.raises(ApplicationError, match="another line"):
        publish(line, alice, image_id)


def test_partner_contacts_are_told_of_a_new_version(line, team, alice, cloud):
    Partner.objects.create(team=team, name="Globex", tenant=GLOBEX, contact_email="ops@globex.test")
    subscribe(line, alice, GLOBEX, INITECH)
    publish(line, alice, acme_image(cloud))
    [message] = mail.outbox
    assert message.to == ["ops@globex.test"]
    assert "Acme web base version 1" in message.subject


# Channels


def test_an_admin_moves_stable_with_a_note_and_a_rollback_is_a_move_back(line, alice, cloud):
    first, second = acme_image(cloud, "v1"), acme_image(cloud, "v2")
    publish(line, alice, first)
    publish(line, alice, second)
    services.channel_move(line=line, actor=alice, name="stable", image_id=second, note="tested")
    services.channel_move(line=line, actor=alice, name="stable", image_id=first, note="rollback")
    assert LineChannel.objects.get(line=line, name="stable").version.image_id == first
    notes = LedgerEntry.objects.filter(action=Action.CHANNEL_MOVE, note__startswith="stable")
    assert sorted(notes.values_list("note", flat=True)) == ["stable: rollback", "stable: tested"]


def test_a_channel_cannot_point_outside_the_line(line, team, alice, cloud):
    other = services.line_create(team=team, actor=alice, name="DB", slug="db", region="IAD")
    image_id = acme_image(cloud)
    publish(other, alice, image_id)
    with pytest.raises(ApplicationError, match="not a version of line web-base"):
        services.channel_move(line=line, actor=alice, name="stable", image_id=image_id)
    assert not LineChannel.objects.filter(line=line).exists()


def test_latest_is_not_moved_by_hand(line, alice, cloud):
    image_id = acme_image(cloud)
    publish(line, alice, image_id)
    with pytest.raises(ApplicationError, match="latest"):
        services.channel_move(line=line, actor=alice, name="latest", image_id=image_id)


# Deprecation, restore and retention


@pytest.fixture
def two_versions(line, alice, cloud):
    subscribe(line, alice, GLOBEX, INITECH)
    first, second = acme_image(cloud, "v1"), acme_image(cloud, "v2")
    publish(line, alice, first)
    publish(line, alice, second)
    return line.versions.get(number=1), line.versions.get(number=2)


def test_deprecating_writes_state_replacement_and_date_on_the_image(
    two_versions, team, alice, cloud
):
    old, new = two_versions
    on = today(team) + timedelta(days=30)
    services.version_deprecate(
        version=old, actor=alice, replacement_image_id=new.image_id, revoke_on=on, note="EOL"
    )
    old.refresh_from_db()
    assert old.state == VersionState.DEPRECATED and old.replacement == new
    extra = cloud.image(old.image_id).extra
    assert extra["image_line_state"] == "deprecated"
    assert extra["image_line_replacement"] == new.image_id
    assert extra["provided_until"] == on.isoformat()
    # still shared until its date
    assert cloud.member_status(old.image_id, GLOBEX) == "pending"
    assert LedgerEntry.objects.filter(action=Action.DEPRECATE, line_version=1).exists()


@pytest.mark.parametrize(
    ("replacement", "days", "says"),
    [
        ("self", 10, "replace itself|replacement must be"),
        ("unknown", 10, "replacement must be"),
        ("new", -1, "in the past"),
    ],
)
def test_bad_deprecations_are_refused_and_change_nothing(
    two_versions, team, alice, cloud, replacement, days, says
):
    old, new = two_versions
    image = {"self": old.image_id, "unknown": "nope", "new": new.image_id}[replacement]
    with pytest.raises(ApplicationError, match=says):
        services.version_deprecate(
            version=old, actor=alice, replacement_image_id=image,
            revoke_on=today(team) + timedelta(days=days),
        )  # fmt: skip
    old.refresh_from_db()
    assert old.state == VersionState.ACTIVE
    assert "image_line_replacement" not in cloud.image(old.image_id).extra


def test_a_deprecated_replacement_is_refused(two_versions, line, team, alice, cloud):
    old, new = two_versions
    third = publish(line, alice, acme_image(cloud, "v3")).version
    on = today(team) + timedelta(days=5)
    services.version_deprecate(
        version=new, actor=alice, replacement_image_id=third.image_id, revoke_on=on
    )
    with pytest.raises(ApplicationError, match="active version"):
        services.version_deprecate(
            version=old, actor=alice, replacement_image_id=new.image_id, revoke_on=on
        )


def test_a_deprecated_version_can_be_restored_until_its_date(two_versions, team, alice, cloud):
    old, new = two_versions
    on = today(team) + timedelta(days=3)
    services.version_deprecate(
        version=old, actor=alice, replacement_image_id=new.image_id, revoke_on=on
    )
    services.version_restore(version=old, actor=alice, note="false alarm")
    old.refresh_from_db()
    assert old.state == VersionState.ACTIVE and old.revoke_on is None
    extra = cloud.image(old.image_id).extra
    assert extra["image_line_state"] == "active"
    assert "image_line_replacement" not in extra and "provided_until" not in extra


def expire_shares() -> str:
    out = io.StringIO()
    call_command("expire_shares", stdout=out)
    return out.getvalue()


def test_at_its_date_the_expiry_job_revokes_a_deprecated_version_from_every_subscriber(
    two_versions, team, alice, cloud
):
    old, new = two_versions
    services.version_deprecate(
        version=old, actor=alice, replacement_image_id=new.image_id, revoke_on=today(team)
    )
    assert "2 deprecated version share(s) revoked" in expire_shares()
    assert cloud.member_status(old.image_id, GLOBEX) is None
    assert cloud.member_status(old.image_id, INITECH) is None
    assert cloud.member_status(new.image_id, GLOBEX) == "pending"
    old.refresh_from_db()
    assert old.state == VersionState.RETIRED
    entries = LedgerEntry.objects.filter(action=Action.EXPIRE, image_id=old.image_id)
    assert {(e.actor_name, e.outcome, e.line_version) for e in entries} == {
        ("system", Outcome.SUCCEEDED, 1)
    }
    with pytest.raises(ApplicationError):
        services.version_restore(version=old, actor=alice)


def test_a_deprecated_version_before_its_date_stays_shared(two_versions, team, alice, cloud):
    old, new = two_versions
    on = today(team) + timedelta(days=1)
    services.version_deprecate(
        version=old, actor=alice, replacement_image_id=new.image_id, revoke_on=on
    )
    expire_shares()
    assert cloud.member_status(old.image_id, GLOBEX) == "pending"


def test_a_failed_retention_revoke_is_retried_at_the_next_run(two_versions, team, alice, cloud):
    old, new = two_versions
    services.version_deprecate(
        version=old, actor=alice, replacement_image_id=new.image_id, revoke_on=today(team)
    )
    cloud.add_fault("error", route="member_delete", status=400)
    assert "revoke(s) failed" in expire_shares()
    old.refresh_from_db()
    assert old.state == VersionState.DEPRECATED
    cloud.clear_faults()
    expire_shares()
    old.refresh_from_db()
    assert old.state == VersionState.RETIRED
    assert cloud.member_status(old.image_id, GLOBEX) is None


def test_a_version_out_of_keep_is_deprecated_and_revoked_after_the_grace_days(team, alice, cloud):
    line = services.line_create(
        team=team, actor=alice, name="Web", slug="web", region="IAD", keep=2, grace_days=0
    )
    subscribe(line, alice, GLOBEX)
    ids = [acme_image(cloud, f"v{n}") for n in (1, 2, 3)]
    for image_id in ids:
        publish(line, alice, image_id)
    first = line.versions.get(number=1)
    assert first.state == VersionState.DEPRECATED
    assert first.replacement.number == 3
    assert cloud.image(ids[0]).extra["image_line_state"] == "deprecated"
    assert line.versions.get(number=2).state == VersionState.ACTIVE
    expire_shares()
    assert cloud.member_status(ids[0], GLOBEX) is None
    assert cloud.member_status(ids[1], GLOBEX) == "pending"


def test_grace_days_delay_the_revoke_of_a_version_out_of_keep(team, alice, cloud):
    line = services.line_create(
        team=team, actor=alice, name="Web", slug="web", region="IAD", keep=1, grace_days=5
    )
    publish(line, alice, acme_image(cloud, "v1"))
    publish(line, alice, acme_image(cloud, "v2"))
    assert line.versions.get(number=1).revoke_on == today(team) + timedelta(days=5)


# Subscribers


def test_subscribing_shares_the_active_versions_only(two_versions, line, team, alice, cloud):
    old, new = two_versions
    on = today(team) + timedelta(days=3)
    services.version_deprecate(
        version=old, actor=alice, replacement_image_id=new.image_id, revoke_on=on
    )
    services.subscriber_add(line=line, actor=alice, tenant=UMBRELLA)
    assert cloud.member_status(new.image_id, UMBRELLA) == "pending"
    assert cloud.member_status(old.image_id, UMBRELLA) is None
    assert LedgerEntry.objects.filter(action=Action.SUBSCRIBE, tenant=UMBRELLA).exists()


def test_a_subscriber_is_subscribed_once(line, alice, cloud):
    subscribe(line, alice, GLOBEX)
    with pytest.raises(ApplicationError, match="already subscribes"):
        subscribe(line, alice, GLOBEX)


def test_a_removed_subscriber_gets_no_future_versions_and_keeps_what_it_has(
    two_versions, line, alice, cloud
):
    old, new = two_versions
    services.subscriber_remove(line=line, actor=alice, tenant=GLOBEX)
    third = publish(line, alice, acme_image(cloud, "v3")).version
    assert cloud.member_status(third.image_id, GLOBEX) is None
    assert cloud.member_status(third.image_id, INITECH) == "pending"
    assert cloud.member_status(new.image_id, GLOBEX) == "pending"


def test_removing_a_subscriber_can_revoke_the_versions_it_has(two_versions, line, alice, cloud):
    old, new = two_versions
    results = services.subscriber_remove(line=line, actor=alice, tenant=GLOBEX, revoke=True)
    assert sorted(r.version for r in results) == [1, 2]
    assert cloud.member_status(old.image_id, GLOBEX) is None
    assert cloud.member_status(new.image_id, GLOBEX) is None
    assert not Share.objects.filter(tenant=GLOBEX, revoked_at=None).exists()


# Found by the sync


def test_the_sync_publishes_images_that_carry_the_line_property(line, alice, cloud):
    subscribe(line, alice, GLOBEX)
    image_id = acme_image(cloud, "from-the-pipeline", image_line="web-base")
    acme_image(cloud, "unrelated")
    call_command("sync_shares", stdout=io.StringIO())
    [version] = line.versions.all()
    assert version.image_id == image_id and version.published_by is None
    assert cloud.member_status(image_id, GLOBEX) == "pending"
    call_command("sync_shares", stdout=io.StringIO())
    assert line.versions.count() == 1


def test_a_second_open_request_to_subscribe_the_same_tenant_is_refused(
    line, team, alice, bob, cloud
):
    services.line_publish(line=line, actor=alice, image_id=acme_image(cloud))
    first = services.line_subscription_request(
        line=line, tenant=GLOBEX, justification="we need it", requested_by=bob
    )
    assert first.line == line
    with pytest.raises(ApplicationError, match="already exists"):
        services.line_subscription_request(
            line=line, tenant=GLOBEX, justification="again", requested_by=bob
        )


def test_approving_a_line_request_subscribes_and_shares_the_active_versions(
    line, team, alice, bob, cloud
):
    image_id = acme_image(cloud)
    publish(line, alice, image_id)
    asked = services.line_subscription_request(
        line=line, tenant=GLOBEX, justification="we run it", requested_by=bob
    )
    services.access_request_approve(access_request=asked, actor=alice, note="ok")
    asked.refresh_from_db()
    assert asked.status == "approved"
    assert line.subscribers.filter(tenant=GLOBEX, removed_at=None).exists()
    assert cloud.member_status(image_id, GLOBEX) == "pending"
    approve = LedgerEntry.objects.get(action=Action.APPROVE)
    assert approve.line == line


def test_a_version_with_a_share_attempt_still_open_is_revoked_but_not_retired(
    two_versions, team, alice, cloud
):
    old, new = two_versions
    # A share of the old version whose process died between its attempt and its outcome.
    services.ledger_attempt(
        team=team, actor=alice, action=Action.SHARE, region="IAD", image_id=old.image_id,
        tenant=UMBRELLA,
    )  # fmt: skip
    services.version_deprecate(
        version=old, actor=alice, replacement_image_id=new.image_id, revoke_on=today(team)
    )
    expire_shares()
    assert cloud.member_status(old.image_id, GLOBEX) is None
    old.refresh_from_db()
    assert old.state == VersionState.DEPRECATED  # the next run looks again
