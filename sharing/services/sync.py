"""Syncing: our Share records follow the cloud's members; what changed outside the dashboard
is recorded as a drift, what a settled outcome of ours explains is not."""

from collections import Counter
from collections.abc import Iterable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from sharing.cloud import CloudError, ImagesClient, Member, NotFound
from sharing.clouds import client_for
from sharing.models import Action, Drift, LedgerEntry, Outcome, Share, ShareStatus, Team
from sharing.webhooks import outbox

from .ledger import ledger_record
from .settling import _MEMBER_ACTIONS, _REMOVALS
from .shares import share_record


def shares_sync(*, team: Team, images: Iterable[tuple[str, str]] = ()) -> Counter[str]:
    """Bring our share records in line with the cloud; counts per kind of change.

    Looks at every image with an active share, every image with a ledger entry on a member
    (settled or still open) since the last check, and `images`. A member whose latest
    recorded action explains it (a share that succeeded, a revoke that succeeded) gets or
    loses its record quietly; anything else changed outside the dashboard and is a `drift`.
    """
    counts: Counter[str] = Counter()
    clients: dict[str, ImagesClient] = {}
    targets = _recorded_targets(team) | set(images)
    targets |= _shared_images(team, clients, counts)
    for region, image_id in sorted(targets):
        try:
            if region not in clients:
                clients[region] = client_for(team, region)
            upstream = {m.member_id: m for m in clients[region].list_members(image_id)}
        except NotFound:
            upstream = {}  # the image is gone: so are its members
        except CloudError:
            counts["unreachable"] += 1
            continue  # the next run tries again
        counts.update(_sync_image(team, region, image_id, upstream))
    counts.pop("unchanged", None)
    if not counts["unreachable"]:
        Team.objects.filter(pk=team.pk).update(last_synced_at=timezone.now())
    return counts


def _recorded_targets(team: Team) -> set[tuple[str, str]]:
    """Images with an active share, or a member entry created or settled lately, or open."""
    active = Share.objects.filter(team=team, revoked_at=None)
    targets = set(active.values_list("region", "image_id").distinct().order_by())
    since = timezone.now() - SYNC_WINDOW
    recent = LedgerEntry.objects.filter(team=team, action__in=_MEMBER_ACTIONS).filter(
        Q(created_at__gte=since)
        | Q(settled_at__gte=since)
        | Q(outcome__isnull=True)
        | Q(outcome=Outcome.UNKNOWN, settled_at=None)
    )
    return targets | set(recent.values_list("region", "image_id").distinct().order_by())


def _shared_images(
    team: Team, clients: dict[str, ImagesClient], counts: Counter[str]
) -> set[tuple[str, str]]:
    """Every `shared` image of the team, per region (clients are made on the way). Images
    shared only outside the dashboard have members too: the counts on the images list are
    these records, so every image of ours that can have members is looked at."""
    found: set[tuple[str, str]] = set()
    for region in team.regions or [team.default_region]:
        if not region:
            continue
        try:
            clients[region] = client_for(team, region)
            for image in clients[region].iter_images(
                owner=team.tenant_id, visibility="shared", limit=SYNC_LIST_PAGE
            ):
                found.add((region, image.id))
        except CloudError:
            counts["unreachable"] += 1
    return found


def _sync_image(
    team: Team, region: str, image_id: str, upstream: dict[str, Member]
) -> Counter[str]:
    """One image: our active records against the cloud's members."""
    counts: Counter[str] = Counter()
    active = Share.objects.filter(team=team, revoked_at=None, region=region, image_id=image_id)
    ours = {s.tenant: s for s in active}
    for tenant, share in ours.items():
        counts[_sync_ours(share, upstream.get(tenant))] += 1
    for tenant in upstream.keys() - ours.keys():
        counts[_sync_found(team, region, image_id, upstream[tenant])] += 1
    return counts


SYNC_LIST_PAGE = 200
# Entries settled within this window are looked at again by the sync.
SYNC_WINDOW = timedelta(days=1)


def _latest_member_entry(
    team_id: int, region: str, image_id: str, tenant: str
) -> LedgerEntry | None:
    """The last thing recorded of this member: our share or revoke, or a drift."""
    return (
        LedgerEntry.objects.filter(
            team_id=team_id,
            region=region,
            image_id=image_id,
            tenant=tenant,
            action__in=[*_MEMBER_ACTIONS, Action.DRIFT],
        )  # fmt: skip
        .exclude(outcome__isnull=True)
        .order_by("-created_at", "-id")
        .first()
    )


def _explains(latest: LedgerEntry | None, actions: tuple[str, ...]) -> bool:
    """Whether our latest entry on a member explains the change: one of `actions` that
    succeeded, or whose outcome is unknown and not settled yet (its settling will tell; it is
    no sign of a change outside the dashboard)."""
    if latest is None or latest.action not in actions:
        return False
    return latest.outcome == Outcome.SUCCEEDED or (
        latest.outcome == Outcome.UNKNOWN and latest.settled_at is None
    )


def _sync_ours(share: Share, member: Member | None) -> str:
    if member is None:
        latest = _latest_member_entry(share.team_id, share.region, share.image_id, share.tenant)
        if not Share.objects.filter(pk=share.pk, revoked_at=None).update(revoked_at=timezone.now()):
            return "unchanged"  # another worker closed it
        if _explains(latest, _REMOVALS):
            return "closed"  # a revoke whose outcome was settled later, or is being settled
        _drift(share, Drift.GONE)
        return "removed outside"
    changed = member.status and member.status != share.status
    if not changed:
        return "unchanged"
    with transaction.atomic():  # the record, its drift entry and the webhook event together
        if Share.objects.filter(pk=share.pk, status=share.status).update(status=member.status):
            previous, share.status = share.status, str(member.status)
            _drift(share, Drift.STATUS, member.status)
            outbox.member_status_changed(share=share, previous=previous)
            return "status changed"
    return "unchanged"


def _sync_found(team: Team, region: str, image_id: str, member: Member) -> str:
    latest = _latest_member_entry(team.pk, region, image_id, member.member_id)
    try:
        with transaction.atomic():
            if latest is not None and _explains(latest, (Action.SHARE,)):
                # A share whose outcome was settled later; an approved request's keeps its end.
                request = latest.access_request
                share_record(
                    entry=latest, image_name=latest.image_name,
                    status=member.status or ShareStatus.PENDING,
                    expires_at=request.share_until if request else None,
                )  # fmt: skip
                return "recorded"
            found = Share.objects.create(
                team=team,
                region=region,
                image_id=image_id,
                image_name=_image_name(team, region, image_id),
                tenant=member.member_id,
                status=member.status or ShareStatus.PENDING,
                shared_at=member.created_at or timezone.now(),
                note="Found by a sync: shared outside the dashboard.",
            )
    except IntegrityError:
        return "unchanged"  # another worker recorded it first
    _drift(found, Drift.ADDED)
    return "added outside"


def _image_name(team: Team, region: str, image_id: str) -> str:
    names = LedgerEntry.objects.filter(team=team, region=region, image_id=image_id).exclude(
        image_name=""
    )
    return names.values_list("image_name", flat=True).first() or ""


# Words for people; what a drift is, is its kind.
DRIFT_WORDS: dict[str, str] = {
    Drift.GONE: "No longer a member upstream: removed outside the dashboard.",
    Drift.ADDED: "A member added outside the dashboard.",
    Drift.STATUS: "The tenant set its status to {status}.",
}


def _drift(share: Share, kind: str, status: str | None = None) -> None:
    ledger_record(
        team=share.team,
        actor=None,
        action=Action.DRIFT,
        region=share.region,
        image_id=share.image_id,
        image_name=share.image_name,
        tenant=share.tenant,
        message=DRIFT_WORDS[kind].format(status=status),
        drift=kind,
    )
