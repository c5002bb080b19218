"""Exactly once: two admins approving the same request at the same moment produce one upstream
create and one decision. Proven on PostgreSQL, with real threads and connections."""

import threading

import pytest
from django.db import connection, connections

from sharing import services
from sharing.models import AccessRequest, Action, Membership, RequestStatus, Role
from sharing.services import ApplicationError

from .conftest import INITECH, acme_image, make_user

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="concurrent approvals need a server database (SQLite serialises writers)",
    ),
    pytest.mark.django_db(transaction=True),
]


def test_two_admins_approving_at_once_share_exactly_once(cloud, team, bob, alice):
    erin = make_user("erin")
    Membership.objects.create(user=erin, team=team, role=Role.ADMIN)
    image_id = acme_image(cloud)
    request = services.access_request_create(
        team=team, region="IAD", image_id=image_id, tenant=INITECH,
        justification="pilot", requested_by=bob,
    )  # fmt: skip
    # Both approvers read the image before either claims the request: the race is real.
    cloud.add_fault("latency", route="image_get", seconds=0.3)
    start = threading.Barrier(2)
    outcomes = []

    def approve(admin):
        try:
            start.wait()
            services.access_request_approve(
                access_request=AccessRequest.objects.get(pk=request.pk), actor=admin
            )
            outcomes.append("approved")
        except ApplicationError as error:
            outcomes.append(error.message)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(admin,)) for admin in (alice, erin)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("approved") == 1
    [refused] = [outcome for outcome in outcomes if outcome != "approved"]
    assert "already approved; nothing changed" in refused
    assert cloud.calls("member_create") == 1
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert request.entries.filter(action=Action.APPROVE).count() == 1
    assert request.entries.filter(action=Action.SHARE).count() == 1
