"""Reading for pages: what the cloud and the ledger say, shaped for templates. No writes."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from sharing.cloud import (
    MEMBER_STATUSES,
    CloudError,
    Forbidden,
    Image,
    ImagesClient,
    Member,
    Page,
)
from sharing.clouds import client_for
from sharing.models import AccessRequest, Action, LedgerEntry, Outcome, RequestStatus, Share, Team

HISTORY_PAGE_SIZE = 50
IMAGES_PAGE_SIZE = 25
REQUESTS_PAGE_SIZE = 50
IMAGE_HISTORY_ROWS = 20
PICKER_IMAGES = 200
CHART_DAYS = 90


@dataclass
class MemberRow:
    tenant: str
    status: str | None
    since: object
    share: Share | None  # None: shared outside the dashboard
    unconfirmed: bool = False  # a share the cloud has not confirmed yet (an open ledger entry)

    @property
    def outside(self) -> bool:
        return self.share is None and not self.unconfirmed


@dataclass
class ImagesPage:
    page: Page | None
    rows: list[tuple[Image, dict]]
    error: CloudError | None = None


def images_page(*, team: Team, region: str, marker: str | None, filters: dict) -> ImagesPage:
    """One page of the team's own images with their share counts; the error if unreachable."""
    try:
        page = client_for(team, region).list_images(
            owner=team.tenant_id, limit=IMAGES_PAGE_SIZE, marker=marker, **filters
        )
    except CloudError as error:
        return ImagesPage(None, [], error)
    counts = share_counts(team=team, region=region, image_ids=[i.id for i in page.items])
    return ImagesPage(page, [(image, counts.get(image.id, {})) for image in page.items])


@dataclass
class ImageDetail:
    image: Image
    members: list[MemberRow] | None  # None: the image cannot have members
    no_members_reason: str


def image_detail(*, team: Team, region: str, image_id: str) -> ImageDetail:
    """The image and its members table. Raises CloudError (NotFound: no such image)."""
    client = client_for(team, region)
    image = client.get_image(image_id)
    members, reason = image_members(client=client, team=team, region=region, image=image)
    return ImageDetail(image, members, reason)


def image_members(
    *, client: ImagesClient, team: Team, region: str, image: Image
) -> tuple[list[MemberRow] | None, str]:
    """The members table: the cloud's members joined with our records, and the shares still
    waiting for the cloud to confirm them.

    Returns (None, why) when the image cannot have members (private on v2.5+, public...).
    """
    try:
        members: list[Member] = client.list_members(image.id)
    except Forbidden as error:
        return None, error.message
    shares = {
        share.tenant: share
        for share in Share.objects.filter(
            team=team, region=region, image_id=image.id, revoked_at=None
        ).select_related("shared_by")
    }
    waiting = LedgerEntry.objects.filter(
        team=team, region=region, image_id=image.id, action=Action.SHARE
    ).open()
    # A member the cloud lists while our share of it is unconfirmed is ours until settled,
    # not one added outside the dashboard.
    unsure = set(waiting.values_list("tenant", flat=True))
    rows = [
        MemberRow(
            m.member_id,
            m.status,
            m.updated_at or m.created_at,
            shares.get(m.member_id),
            unconfirmed=m.member_id not in shares and m.member_id in unsure,
        )  # fmt: skip
        for m in members
    ]
    listed = {row.tenant for row in rows}
    for entry in waiting.exclude(tenant__in=listed).order_by("created_at"):
        if entry.tenant not in listed:
            listed.add(entry.tenant)
            rows.append(MemberRow(entry.tenant, None, entry.created_at, None, unconfirmed=True))
    return rows, ""


def image_history(*, team: Team, image_id: str) -> list[LedgerEntry]:
    return list(history_entries(team=team, filters={"image": image_id})[:IMAGE_HISTORY_ROWS])


def access_requests(*, team: Team, status: str) -> QuerySet[AccessRequest]:
    """The request list: `open` (pending, or approved with a failed share), a status, or all."""
    listed = AccessRequest.objects.filter(team=team).select_related("requested_by", "decided_by")
    if status == "open":
        return listed.filter(status__in=[RequestStatus.PENDING, RequestStatus.FAILED])
    if status in RequestStatus.values:
        return listed.filter(status=status)
    return listed


def incoming_images(*, team: Team, region: str) -> list[tuple[Image, str]]:
    """Images other accounts shared with us, in every status: one list call per status.

    `visibility=shared` also lists our own shared images (images-api.md §3.4), so those are
    dropped; the list says nothing of our member status, hence one call per status.
    """
    client = client_for(team, region)
    found: list[tuple[Image, str]] = []
    for status in MEMBER_STATUSES:
        for image in client.iter_images(
            visibility="shared", member_status=status, limit=PICKER_IMAGES
        ):
            if image.owner != client.tenant_id:
                found.append((image, status))
    return sorted(found, key=lambda pair: (pair[0].name or "").lower())


def share_counts(*, team: Team, region: str, image_ids: Iterable[str]) -> dict[str, dict]:
    """Active shares per image and status, from the dashboard's own records: one query."""
    counts: dict[str, dict] = {}
    rows = (
        Share.objects.filter(
            team=team, region=region, image_id__in=list(image_ids), revoked_at=None
        )
        .values_list("image_id", "status")
        .order_by()
    )
    for image_id, status in rows:
        per_image = counts.setdefault(image_id, {"total": 0})
        per_image[status] = per_image.get(status, 0) + 1
        per_image["total"] += 1
    return counts


def history_entries(*, team: Team, filters: dict) -> QuerySet[LedgerEntry]:
    entries = LedgerEntry.objects.filter(team=team)
    if filters.get("image"):
        entries = entries.filter(image_id=filters["image"])
    if filters.get("member"):
        entries = entries.filter(tenant=filters["member"])
    if filters.get("actor"):
        entries = entries.filter(actor_name=filters["actor"])
    if filters.get("action"):
        entries = entries.filter(action=filters["action"])
    if filters.get("outcome") == "unresolved":
        entries = entries.filter(outcome__isnull=True)
    elif filters.get("outcome"):
        entries = entries.filter(outcome=filters["outcome"])
    if filters.get("since"):
        entries = entries.filter(created_at__gte=_start_of(filters["since"]))
    if filters.get("until"):
        entries = entries.filter(created_at__lt=_start_of(filters["until"] + timedelta(days=1)))
    return entries.order_by("-created_at", "-id")


def _start_of(day: date):
    return timezone.make_aware(timezone.datetime.combine(day, timezone.datetime.min.time()))


def history_page(
    entries: QuerySet[LedgerEntry], *, before: int | None
) -> tuple[list[LedgerEntry], int | None]:
    """One page, newest first, by keyset on (created_at, id) after the entry `before`.

    The indexes lead with the filter columns and end in (created_at, id), so a page 10,000
    pages deep, or one bounded by dates, starts its index scan where it should instead of
    counting rows to skip.
    """
    if before is not None:
        cursor = entries.filter(pk=before).values_list("created_at", flat=True).first()
        if cursor is not None:
            entries = entries.filter(created_at__lte=cursor).exclude(
                created_at=cursor, id__gte=before
            )
    page = list(entries[: HISTORY_PAGE_SIZE + 1])
    more = len(page) > HISTORY_PAGE_SIZE
    page = page[:HISTORY_PAGE_SIZE]
    return page, (page[-1].id if more else None)


@dataclass
class ChartBar:
    x: float
    share_height: float
    revoke_height: float
    day: date
    shares: int
    revokes: int
    chart_height: float

    @property
    def share_top(self) -> float:
        return self.chart_height - self.share_height

    @property
    def revoke_top(self) -> float:
        """Revokes stack on top of the day's shares."""
        return self.share_top - self.revoke_height


CHART_CACHE_SECONDS = 300


def activity_chart(*, team: Team) -> dict:
    """The chart of the last 90 days, computed at most every five minutes per team.

    Counting 90 days of a busy team's ledger costs far more than a page of it (bench/), so the
    history page shows a chart up to five minutes old.
    """
    today = timezone.localdate()
    key = f"activity-chart:{team.pk}:{today.isoformat()}"
    return cache.get_or_set(key, lambda: _activity_chart(team, today), CHART_CACHE_SECONDS)


def _activity_chart(team: Team, today: date) -> dict:
    """Successful shares and revokes per day for the last 90 days, as SVG geometry."""
    start = today - timedelta(days=CHART_DAYS - 1)
    rows = (
        LedgerEntry.objects.filter(
            team=team,
            created_at__gte=_start_of(start),
            outcome=Outcome.SUCCEEDED,
            action__in=[Action.SHARE, Action.REVOKE, Action.EXPIRE],
        )
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(
            shares=Count("id", filter=Q(action=Action.SHARE)),
            revokes=Count("id", filter=~Q(action=Action.SHARE)),
        )
        .order_by()
    )
    per_day = {row["day"]: row for row in rows}
    peak = max([row["shares"] + row["revokes"] for row in rows] or [0])
    height, width = 80.0, 6.0
    bars = []
    for offset in range(CHART_DAYS):
        day = start + timedelta(days=offset)
        row = per_day.get(day, {"shares": 0, "revokes": 0})
        scale = height / peak if peak else 0
        bars.append(
            ChartBar(
                x=offset * width,
                share_height=row["shares"] * scale,
                revoke_height=row["revokes"] * scale,
                day=day,
                shares=row["shares"],
                revokes=row["revokes"],
                chart_height=height,
            )
        )
    return {
        "bars": bars,
        "peak": peak,
        "width": CHART_DAYS * width,
        "height": height,
        "start": start,
        "end": today,
    }


def team_images(*, team: Team, region: str) -> list[Image]:
    """The first page (up to 200) of the team's own images, for pickers; [] if unreachable."""
    try:
        page = client_for(team, region).list_images(owner=team.tenant_id, limit=PICKER_IMAGES)
    except CloudError:
        return []
    return page.items


def link_images(*, team: Team) -> list[tuple[str, str]]:
    """Choices for the public request link: the images the admins allowed, by name."""
    allowed = set(team.request_link_images)
    if not allowed:
        return []
    names = {i.id: i.name for i in team_images(team=team, region=team.default_region)}
    return sorted(
        ((image_id, names.get(image_id) or image_id) for image_id in allowed),
        key=lambda choice: choice[1].lower(),
    )
