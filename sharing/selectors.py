"""Reading for pages: what the cloud and the ledger say, shaped for templates. No writes."""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import cast

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.template.loader import render_to_string

from sharing.cloud import (
    MEMBER_STATUSES,
    CloudError,
    Forbidden,
    Image,
    ImagesClient,
    Member,
    NotFound,
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
        """Added outside the dashboard: no record of ours, or one a sync made (nobody shared)."""
        if self.unconfirmed:
            return False
        return self.share is None or self.share.shared_by_id is None


IMAGE_SORTS = {
    "name": "name:asc",
    "-name": "name:desc",
    "created": "created_at:asc",
    "-created": "created_at:desc",
}
MEMBERS_PAGE_SIZE = 50
MEMBER_SORTS = {
    "tenant": lambda row: row.tenant,
    "status": lambda row: (row.status or "", row.tenant),
    "since": lambda row: (row.since is None, row.since or 0),
}


@dataclass
class ImagesPage:
    page: Page | None
    rows: list[tuple[Image, dict]]
    error: CloudError | None = None
    synced_at: object = None  # when the share counts were last compared with the cloud

    @property
    def stale(self) -> bool:
        """The cloud did not answer: the rows are what our records know."""
        return self.error is not None


def images_page(
    *, team: Team, region: str, marker: str | None, filters: dict, sort: str = ""
) -> ImagesPage:
    """One page of the team's own images with their share counts.

    The counts are our share records, which the sync keeps in line with the cloud's members,
    those added outside the dashboard included; `synced_at` says when it last looked. When the
    cloud is unreachable, the images our records know, marked stale.
    """
    try:
        page = client_for(team, region).list_images(
            owner=team.tenant_id, limit=IMAGES_PAGE_SIZE, marker=marker,
            sort=IMAGE_SORTS.get(sort), **filters,
        )  # fmt: skip
    except CloudError as error:
        rows = [] if marker else known_images(team=team, region=region)
        counts = share_counts(team=team, region=region, image_ids=[i.id for i in rows])
        return ImagesPage(
            None, [(image, counts.get(image.id, {})) for image in rows], error,
            team.last_synced_at,
        )  # fmt: skip
    counts = share_counts(team=team, region=region, image_ids=[i.id for i in page.items])
    return ImagesPage(
        page, [(image, counts.get(image.id, {})) for image in page.items], None,
        team.last_synced_at,
    )  # fmt: skip


def known_images(*, team: Team, region: str) -> list[Image]:
    """The images our records name in a region (shares, then the ledger), by name: what the
    dashboard can show while the cloud does not answer. Name, ID and nothing else."""
    names: dict[str, str] = {}
    for image_id, name in (
        LedgerEntry.objects.filter(team=team, region=region)
        .exclude(image_id="")
        .order_by("-created_at")
        .values_list("image_id", "image_name")[:2000]
    ):
        if name and not names.get(image_id):
            names[image_id] = name
        names.setdefault(image_id, name)
    for image_id, name in Share.objects.filter(team=team, region=region).values_list(
        "image_id", "image_name"
    ):
        if name or image_id not in names:
            names[image_id] = name
    images = [Image(id=image_id, name=name or None) for image_id, name in names.items()]
    return sorted(images, key=lambda image: ((image.name or image.id).lower(), image.id))[
        :IMAGES_PAGE_SIZE
    ]


@dataclass
class ImageDetail:
    image: Image
    members: list[MemberRow] | None  # None: the image cannot have members
    no_members_reason: str
    error: CloudError | None = None  # the cloud did not answer: records only, maybe stale
    member_count: int = 0  # every member, whatever the filter or page shows
    members_page: list[MemberRow] | None = None
    page_number: int = 1
    page_count: int = 1

    @property
    def stale(self) -> bool:
        return self.error is not None


def image_detail(
    *,
    team: Team,
    region: str,
    image_id: str,
    tenant_filter: str = "",
    sort: str = "",
    page: int = 1,
) -> ImageDetail:
    """The image and its members table, 50 rows a page, optionally only tenants containing
    `tenant_filter`. Raises NotFound when there is no such image.

    When the cloud does not answer, the image as our records know it and our share records
    as its members, with the error: the page says the statuses may be stale.
    """
    image: Image | None = None
    members, reason, error = None, "", None
    try:
        client = client_for(team, region)
        image = client.get_image(image_id)
        members, reason = image_members(client=client, team=team, region=region, image=image)
    except NotFound:
        raise
    except CloudError as exc:
        error = exc
        image = image or _image_from_records(team, region, image_id)
        members = recorded_members(team=team, region=region, image_id=image_id)
    detail = ImageDetail(image, members, reason, error)
    if members is None:
        return detail
    detail.member_count = len(members)
    shown = members
    if tenant_filter:
        needle = tenant_filter.strip().lower()
        names = dict(team.partners.values_list("tenant", "name"))
        shown = [
            row
            for row in members
            if needle in row.tenant.lower() or needle in names.get(row.tenant, "").lower()
        ]
    key = MEMBER_SORTS.get(sort.lstrip("-"))
    if key is not None:
        shown = sorted(shown, key=key, reverse=sort.startswith("-"))
    detail.page_count = max(1, -(-len(shown) // MEMBERS_PAGE_SIZE))
    detail.page_number = min(max(1, page), detail.page_count)
    start = (detail.page_number - 1) * MEMBERS_PAGE_SIZE
    detail.members_page = shown[start : start + MEMBERS_PAGE_SIZE]
    return detail


def _image_from_records(team: Team, region: str, image_id: str) -> Image:
    name = (
        Share.objects.filter(team=team, region=region, image_id=image_id)
        .exclude(image_name="")
        .values_list("image_name", flat=True)
        .first()
    ) or (
        LedgerEntry.objects.filter(team=team, region=region, image_id=image_id)
        .exclude(image_name="")
        .values_list("image_name", flat=True)
        .first()
    )
    return Image(id=image_id, name=name or None)


def recorded_members(*, team: Team, region: str, image_id: str) -> list[MemberRow]:
    """Our active share records of an image, as member rows (statuses as last known)."""
    shares = Share.objects.filter(
        team=team, region=region, image_id=image_id, revoked_at=None
    ).select_related("shared_by")
    return [
        MemberRow(share.tenant, share.status, share.updated_at or share.shared_at, share)
        for share in shares.order_by("tenant")
    ]


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

    `visibility=shared` also lists our own shared images (docs/glance.md §3.4), so those are
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
    pending = sum(1 for _, status in found if status == "pending")
    cache.set(incoming_pending_key(team, region), pending, INCOMING_BADGE_SECONDS)
    return sorted(found, key=lambda pair: (pair[0].name or "").lower())


# The nav badge of pending incoming shares: what the incoming page last counted (no cloud call
# on every page), for an hour.
INCOMING_BADGE_SECONDS = 3600


def incoming_pending_key(team: Team, region: str) -> str:
    return f"incoming-pending:{team.pk}:{region}"


def incoming_pending(*, team: Team, region: str) -> int | None:
    """Pending incoming shares as last counted, None when not counted lately."""
    return cache.get(incoming_pending_key(team, region))


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


_IMAGE_ID = re.compile(r"[0-9a-f]{8}-?([0-9a-f]{4}-?){3}[0-9a-f]{12}", re.IGNORECASE)


def history_entries(*, team: Team, filters: dict) -> QuerySet[LedgerEntry]:
    entries = LedgerEntry.objects.filter(team=team)
    if filters.get("image"):
        image = filters["image"].strip()
        if _IMAGE_ID.fullmatch(image):
            entries = entries.filter(image_id=image)
        else:  # a name, or part of one (or an ID of another shape)
            entries = entries.filter(Q(image_id=image) | Q(image_name__icontains=image))
    if filters.get("tenant"):
        entries = entries.filter(tenant=filters["tenant"])
    if filters.get("actor"):
        entries = entries.filter(actor_name=filters["actor"])
    if filters.get("action"):
        entries = entries.filter(action=filters["action"])
    if filters.get("channel"):
        entries = entries.filter(channel=filters["channel"])
    if filters.get("outcome") == "unresolved":
        entries = entries.filter(outcome__isnull=True)
    elif filters.get("outcome"):
        entries = entries.filter(outcome=filters["outcome"])
    # From and Until are the team's days, whoever reads them and wherever the server is.
    if filters.get("since"):
        entries = entries.filter(created_at__gte=team.day_range(filters["since"])[0])
    if filters.get("until"):
        entries = entries.filter(created_at__lte=team.day_range(filters["until"])[1])
    return entries.order_by("-created_at", "-id")


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
    today = team.today()  # the bars are the team's days, like the history's filters
    # "drawn": charts cached before the markup was cached with them hold no `html`.
    key = f"activity-chart-drawn:{team.pk}:{team.time_zone}:{today.isoformat()}"
    chart = cache.get_or_set(key, lambda: _drawn(_activity_chart(team, today)), CHART_CACHE_SECONDS)
    return cast(dict, chart)


def _drawn(chart: dict) -> dict:
    """The chart with its markup (`html`), drawn once with its figures: drawing 90 bars in the
    template on every view cost more than the rest of the history page (bench/README.md)."""
    chart["html"] = render_to_string("sharing/includes/activity_chart.html", {"chart": chart})
    return chart


def _activity_chart(team: Team, today: date) -> dict:
    """Successful shares and revokes per day for the last 90 days, as SVG geometry."""
    start = today - timedelta(days=CHART_DAYS - 1)
    rows = (
        LedgerEntry.objects.filter(
            team=team,
            created_at__gte=team.day_range(start)[0],
            outcome=Outcome.SUCCEEDED,
            action__in=[Action.SHARE, Action.REVOKE, Action.EXPIRE],
        )
        .annotate(day=TruncDate("created_at", tzinfo=team.zone))
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
