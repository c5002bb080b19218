"""Which event a ledger entry's final outcome is, and what its body says.

An entry's event type follows from its action and outcome; a settled entry (an `unknown` or
unresolved outcome given its final one from later evidence) is `share.settled`. An entry whose
outcome is `unknown` and not settled is no event at all: nothing is sent for an outcome not
known yet. A new kind of entry (the image lines' actions) is one line in `BY_OUTCOME`.
"""

from django.utils import timezone

from sharing.cloud import Image
from sharing.models import Action, Channel, LedgerEntry, Outcome, RequestStatus

PING = "ping"

# Every type an endpoint may subscribe to, with what it means (shown on the settings page).
EVENT_TYPES: dict[str, str] = {
    "share.succeeded": "An image was shared with a tenant.",
    "share.failed": "Sharing an image with a tenant failed.",
    "share.settled": "A share or revoke whose outcome was unknown now has its final outcome.",
    "member.status_changed": "A member accepted, rejected or reset a shared image.",
    "share.revoked": "A share was revoked.",
    "share.expired": "A share reached its end date and was revoked.",
    "drift.found": "The sync found a member changed outside the dashboard.",
    "request.created": "An access request was filed.",
    "request.approved": "An access request was approved.",
    "request.rejected": "An access request was rejected.",
    "request.expired": "An access request expired without a decision.",
    "incoming.received": "An image was shared with the team.",
    "incoming.auto_accepted": "A trust rule accepted an image shared with the team.",
}

# Request expiry and share expiry are both `expire` entries; told apart by the request.
_REQUEST_EXPIRE = "request_expire"

# (action, outcome) of a completed entry → its event type.
BY_OUTCOME: dict[tuple[str, str], str] = {
    (Action.SHARE, Outcome.SUCCEEDED): "share.succeeded",
    (Action.SHARE, Outcome.FAILED): "share.failed",
    (Action.REVOKE, Outcome.SUCCEEDED): "share.revoked",
    (Action.EXPIRE, Outcome.SUCCEEDED): "share.expired",
    (Action.DRIFT, Outcome.SUCCEEDED): "drift.found",
    (Action.REQUEST, Outcome.SUCCEEDED): "request.created",
    (Action.APPROVE, Outcome.SUCCEEDED): "request.approved",
    (Action.REJECT_REQUEST, Outcome.SUCCEEDED): "request.rejected",
    (_REQUEST_EXPIRE, Outcome.SUCCEEDED): "request.expired",
    (Action.ACCEPT, Outcome.SUCCEEDED): "member.status_changed",
    (Action.REJECT, Outcome.SUCCEEDED): "member.status_changed",
    (Action.PENDING, Outcome.SUCCEEDED): "member.status_changed",
}
# Actions whose settled outcome is reported as `share.settled`.
SETTLED_ACTIONS = {Action.SHARE, Action.REVOKE, Action.EXPIRE}
# Request events carry the access request as the API shows it; the others the ledger entry.
REQUEST_EVENTS = {"request.created", "request.approved", "request.rejected", "request.expired"}


def type_of(entry: LedgerEntry) -> str | None:
    """The event an entry's final outcome is, or None (no event, or no final outcome yet)."""
    if entry.outcome is None or (entry.outcome == Outcome.UNKNOWN and not entry.settled_at):
        return None
    if entry.settled_at is not None:
        return "share.settled" if entry.action in SETTLED_ACTIONS else None
    if _accepted_by_rule(entry):
        return "incoming.auto_accepted"
    return BY_OUTCOME.get((_action(entry), entry.outcome))


def _action(entry: LedgerEntry) -> str:
    request = entry.access_request
    if entry.action == Action.EXPIRE and request and request.status == RequestStatus.EXPIRED:
        return _REQUEST_EXPIRE
    return entry.action


def _accepted_by_rule(entry: LedgerEntry) -> bool:
    """An incoming share accepted by the system: only trust rules do that."""
    return entry.action == Action.ACCEPT and entry.channel == Channel.SYSTEM


def subject_of(entry: LedgerEntry) -> str:
    """The member an entry concerns, for ordering; empty when it concerns no member."""
    if not entry.tenant:
        return ""
    return f"{entry.region}/{entry.image_id}/{entry.tenant}"


def data_of(event_type: str, entry: LedgerEntry) -> dict:
    """The event's `data`, shaped as the API shows the thing it is about: an access request
    for `request.*`, a member for `member.status_changed`, else the ledger entry as the
    history shows it."""
    from sharing.api import endpoints, schemas  # the API imports the services: not at load

    if event_type in REQUEST_EVENTS and entry.access_request is not None:
        shown = endpoints._request_out(entry.access_request)
        return schemas.AccessRequestOut.model_validate(shown).model_dump(mode="json")
    if event_type == "member.status_changed":
        status = INCOMING_STATUS[entry.action]
        return member_data(entry.region, entry.image_id, entry.image_name, entry.tenant, status)
    return schemas.EntryOut.model_validate(endpoints._entry_out(entry)).model_dump(mode="json")


INCOMING_STATUS: dict[str, str] = {
    Action.ACCEPT: "accepted",
    Action.REJECT: "rejected",
    Action.PENDING: "pending",
}


def member_data(
    region: str,
    image_id: str,
    image_name: str,
    tenant: str,
    status: str,
    previous_status: str | None = None,
) -> dict:
    """A membership's new status: our tenant's answer to an incoming image, or (found by the
    sync) a tenant's answer to one of ours."""
    return {
        "region": region,
        "image_id": image_id,
        "image_name": image_name,
        "tenant": tenant,
        "status": status,
        "previous_status": previous_status,
    }


def incoming_data(region: str, image: Image, status: str) -> dict:
    """An image shared with the team, as `GET .../incoming/` shows it, with its region."""
    return {
        "region": region,
        "image_id": image.id,
        "name": image.name,
        "owner": image.owner,
        "status": status,
    }


def moment_of(entry: LedgerEntry):
    return entry.settled_at or entry.completed_at or timezone.now()
