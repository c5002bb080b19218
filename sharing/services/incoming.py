"""Incoming shares: our answer to images other accounts shared with the team."""

from django.contrib.auth.models import User

from sharing.cloud import Image, MemberResult
from sharing.clouds import client_for
from sharing.models import Action, Outcome, Team

from .ledger import NAME_LENGTH, ledger_attempt, ledger_complete, ledgered

INCOMING_ACTIONS = {"accepted": Action.ACCEPT, "rejected": Action.REJECT, "pending": Action.PENDING}


def incoming_set_status(
    *, team: Team, actor: User | None, region: str, image_id: str, status: str, note: str = ""
) -> tuple[Image, MemberResult]:
    """Accept, reject or reset to pending our membership of another account's image. Without
    an actor it is the system's (a trust rule, named in `note`)."""
    client = client_for(team, region)
    entry = ledger_attempt(
        team=team,
        actor=actor,
        action=INCOMING_ACTIONS[status],
        region=region,
        image_id=image_id,
        tenant=client.tenant_id,
        note=note,
    )
    with ledgered(entry):
        # A member may read the image in any status: its name makes the ledger readable.
        image = client.get_image(image_id)
        entry.image_name = (image.name or "")[:NAME_LENGTH]  # written with the outcome
        result = client.update_member_status(image_id, client.tenant_id, status)
    ledger_complete(
        entry, Outcome.SUCCEEDED, http_status=result.http_status, request_id=result.request_id
    )
    return image, result
