"""Exactly once: two workers applying the trust rules at the same moment accept each pending
image once and announce it once. Proven on PostgreSQL, with real threads and connections."""

import threading

import pytest
from django.db import connection, connections

from sharing import services
from sharing.models import Action, IncomingImage, LedgerEntry, RuleMode, Team
from sharing.webhooks.models import Event
from sharing.webhooks.services import endpoint_create

from .conftest import ACME, GLOBEX

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="concurrent workers need a server database (SQLite serialises writers)",
    ),
    pytest.mark.django_db(transaction=True),
]


def test_two_workers_applying_rules_at_once_accept_each_image_once(cloud, team):
    offered = [
        cloud.create_image(owner=GLOBEX, region="IAD", name=f"web {n}", image_line="web",
                           image_line_version=str(n))["id"]
        for n in (1, 2)
    ]  # fmt: skip
    for image_id in offered:
        cloud.add_member(image_id, ACME, "pending")
    services.trust_rule_create(team=team, actor=None, owner=GLOBEX, line="web", mode="enforce")
    endpoint_create(
        team=team, actor=None, url="http://127.0.0.1:9/hook", event_types=["incoming.received"]
    )
    # Both workers list the pending images before either records or claims one: a real race.
    cloud.add_fault("latency", route="images_list", seconds=0.3)
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def work():
        try:
            start.wait()
            services.incoming_sync(team=Team.objects.get(pk=team.pk))
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert [cloud.member_status(i, ACME) for i in offered] == ["accepted", "accepted"]
    assert cloud.calls("member_update") == 2
    accepts = LedgerEntry.objects.filter(action=Action.ACCEPT)
    assert sorted(accepts.values_list("image_id", flat=True)) == sorted(offered)
    assert IncomingImage.objects.count() == 2
    assert Event.objects.filter(type="incoming.received").count() == 2
    assert RuleMode.ENFORCE in accepts.first().note
