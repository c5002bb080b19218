"""Where the cloud client meets Django: no I/O when a client is built, tokens encrypted at rest,
and attempts that are committed before the call they describe."""

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from sharing import services
from sharing.cloud import AuthenticationFailed, Unavailable
from sharing.cloud.identity import _cache_key
from sharing.clouds import account_for, client_for
from sharing.models import Action, LedgerEntry, Outcome

from .conftest import GLOBEX, acme_image


def test_building_a_client_asks_nothing_of_the_cloud(cloud, team):
    client = client_for(team, "IAD")
    assert cloud.calls("identity_rackspace") == 0
    client.list_images()
    assert cloud.calls("identity_rackspace") == 1


def test_a_failed_authentication_surfaces_from_the_first_call(cloud, team):
    team.set_secret("wrong-key")
    team.save()
    client = client_for(team, "IAD")  # nothing raised here, outside the caller's handling
    with pytest.raises(AuthenticationFailed):
        client.list_images()


def test_an_identity_outage_while_settling_leaves_entries_waiting_and_the_upkeep_going(cloud, team):
    image_id = acme_image(cloud)
    LedgerEntry.objects.create(
        team=team, actor_name="alice", action=Action.SHARE, region="IAD", image_id=image_id,
        tenant=GLOBEX, created_at=timezone.now() - timedelta(minutes=5),
    )  # fmt: skip
    cloud.add_fault("error", route="identity_rackspace", status=503)

    counts = services.attempts_settle(team=team, older_than=timedelta(0))

    assert counts["waiting"] == 1
    assert LedgerEntry.objects.get().outcome is None


def test_the_cache_holds_the_token_encrypted(cloud, team):
    client = client_for(team, "IAD")
    client.list_images()
    raw = cache.get(_cache_key(account_for(team)))
    assert isinstance(raw, str)
    assert client.auth.token not in raw
    assert "demo-api-key" not in raw


def test_a_cached_token_is_reused_by_the_next_client(cloud, team):
    client_for(team, "IAD").list_images()
    client_for(team, "IAD").list_images()
    assert cloud.calls("identity_rackspace") == 1


def test_a_token_no_key_opens_makes_the_client_authenticate_again(cloud, team, settings):
    client_for(team, "IAD").list_images()
    # The credentials key was rotated without keeping the old one; stored secrets are re-saved
    # under the new key, cached tokens are not.
    secret = team.get_secret()
    settings.CREDENTIALS_KEYS = [Fernet.generate_key().decode()]
    team.set_secret(secret)
    team.save()

    client_for(team, "IAD").list_images()

    assert cloud.calls("identity_rackspace") == 2


def test_a_value_in_the_cache_that_is_not_ours_is_ignored(cloud, team):
    cache.set(_cache_key(account_for(team)), {"token": "planted", "expires_at": "x"}, 600)
    client_for(team, "IAD").list_images()
    assert cloud.calls("identity_rackspace") == 1


def test_an_attempt_inside_a_transaction_is_refused_before_any_call(cloud, team, alice):
    """Held uncommitted across the cloud call, it would vanish with a crash mid-call."""
    image_id = acme_image(cloud, visibility="shared")
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        services.image_share(
            team=team, actor=alice, region="IAD", image_id=image_id, tenants=[GLOBEX]
        )
    assert cloud.calls("member_create") == 0
    assert not LedgerEntry.objects.exists()


def test_an_attempt_outside_any_transaction_is_written_as_before(cloud, team, alice):
    image_id = acme_image(cloud, visibility="shared")
    [result] = services.image_share(
        team=team, actor=alice, region="IAD", image_id=image_id, tenants=[GLOBEX]
    )
    assert LedgerEntry.objects.get(action=Action.SHARE).outcome == Outcome.SUCCEEDED


def test_an_unreachable_identity_is_unavailable_from_the_first_call(cloud, team):
    cloud.add_fault("error", route="identity_rackspace", status=503)
    client = client_for(team, "IAD")
    with pytest.raises(Unavailable):
        client.list_images()
