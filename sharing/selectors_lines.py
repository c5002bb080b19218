"""Reads for the image line pages and the API: what the dashboard's records say of a line.

Member counts are our records of active shares (kept true by the sync), not a cloud call per
version: a line page stays fast whatever the number of versions.
"""

from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.utils import timezone

from sharing.models import (
    LedgerEntry,
    Line,
    LineChannel,
    LineSubscriber,
    LineVersion,
    Share,
    Team,
    VersionState,
)

HISTORY = 50


@dataclass
class LineRow:
    line: Line
    versions: int
    subscribers: int
    channels: list[LineChannel]


@dataclass
class VersionRow:
    version: LineVersion
    members: int
    channels: list[str] = field(default_factory=list)


@dataclass
class LineDetail:
    line: Line
    versions: list[VersionRow]
    subscribers: list[LineSubscriber]
    channels: list[LineChannel]
    history: list[LedgerEntry]

    @property
    def active(self) -> list[LineVersion]:
        return [row.version for row in self.versions if row.version.state == VersionState.ACTIVE]


def lines_of(team: Team) -> list[LineRow]:
    now = timezone.now()
    lines = team.lines.annotate(
        version_count=Count("versions", distinct=True),
        subscriber_count=Count(
            "subscribers",
            filter=Q(subscribers__removed_at=None)
            & (Q(subscribers__until=None) | Q(subscribers__until__gt=now)),
            distinct=True,
        ),
    )
    channels: dict[int, list[LineChannel]] = {}
    for channel in LineChannel.objects.filter(line__team=team).select_related("version"):
        channels.setdefault(channel.line_id, []).append(channel)
    return [
        LineRow(line, line.version_count, line.subscriber_count, channels.get(line.pk, []))
        for line in lines
    ]


def line_detail(line: Line) -> LineDetail:
    versions = list(line.versions.select_related("replacement", "published_by"))
    counts = dict(
        Share.objects.filter(
            team=line.team, region=line.region, revoked_at=None,
            image_id__in=[v.image_id for v in versions],
        )
        .values_list("image_id")
        .annotate(n=Count("id"))
    )  # fmt: skip
    channels = list(line.channels.select_related("version", "moved_by"))
    pointed: dict[int, list[str]] = {}
    for channel in channels:
        pointed.setdefault(channel.version_id, []).append(channel.name)
    rows = [VersionRow(v, counts.get(v.image_id, 0), pointed.get(v.pk, [])) for v in versions]
    subscribers = list(line.subscribers.filter(removed_at=None).select_related("added_by"))
    history = list(LedgerEntry.objects.filter(team=line.team, line=line)[:HISTORY])
    return LineDetail(line, rows, subscribers, channels, history)
