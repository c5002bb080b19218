"""The team's own settings as services (sharing/services/teams.py): the partner directory,
the policy and limits, and the request link's images, whoever calls them."""

import pytest

from sharing import services
from sharing.models import ApprovalPolicy, Partner, Team
from sharing.services import ApplicationError

from .conftest import GLOBEX, INITECH


def test_a_tenant_added_twice_is_refused_with_a_message_not_a_crash(team, alice):
    services.partner_create(team=team, actor=alice, name="Globex", tenant=GLOBEX)
    with pytest.raises(ApplicationError, match="already in the directory"):
        services.partner_create(team=team, actor=alice, name="Globex again", tenant=GLOBEX)
    assert Partner.objects.get().name == "Globex"


def test_a_partner_name_too_long_for_the_directory_is_refused(team, alice):
    with pytest.raises(ApplicationError, match="at most 100 characters"):
        services.partner_create(team=team, actor=alice, name="G" * 101, tenant=GLOBEX)
    assert not Partner.objects.exists()


def test_removing_a_partner_leaves_the_other_entries(team, alice):
    globex = services.partner_create(team=team, actor=alice, name="Globex", tenant=GLOBEX)
    services.partner_create(team=team, actor=alice, name="Initech", tenant=INITECH)
    services.partner_delete(partner=globex)
    assert list(team.partners.values_list("name", flat=True)) == ["Initech"]


def test_settings_out_of_the_models_bounds_are_refused_and_nothing_is_saved(team):
    with pytest.raises(ApplicationError):
        services.team_settings_update(
            team=team, approval_policy=ApprovalPolicy.EVERYONE, max_share_days=0,
            request_expiry_days=7, reminder_days=2, time_zone="UTC",
        )  # fmt: skip
    assert Team.objects.get(pk=team.pk).approval_policy == ApprovalPolicy.MEMBERS


def test_settings_are_saved_for_the_next_share(team):
    services.team_settings_update(
        team=team, approval_policy=ApprovalPolicy.EVERYONE, max_share_days=90,
        request_expiry_days=7, reminder_days=2, time_zone="Europe/Berlin",
    )  # fmt: skip
    saved = Team.objects.get(pk=team.pk)
    assert (saved.approval_policy, saved.max_share_days, saved.time_zone) == (
        ApprovalPolicy.EVERYONE,
        90,
        "Europe/Berlin",
    )


def test_the_request_links_images_are_kept_once_each_in_order(team):
    services.request_link_images_set(team=team, images=["b", "a", "b"])
    assert Team.objects.get(pk=team.pk).request_link_images == ["b", "a"]
