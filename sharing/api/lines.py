"""The automation API's image line endpoints (docs/design.md, "Image lines"), on the same
`api` as the others and with its rules: tokens and roles, `Idempotency-Key` on mutations,
problems for errors. Thin, over services.lines and selectors_lines.

A pipeline publishes right after its build: `POST .../lines/{line}/versions/` with the new
image's ID answers each subscriber's share result, as a share does.
"""

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.core.validators import slug_re
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Schema

from sharing import selectors_lines, services
from sharing.forms import LineForm, clean_share_until, split_tenants
from sharing.models import Channel, Line, LineChannel, LineVersion, Membership, Role
from sharing.services import InvalidInput

from . import schemas as s
from .auth import membership_for
from .endpoints import _form_errors, _json, _request_out, _share_answer, _share_message, api
from .idempotency import idempotent
from .problems import invalid

# Schemas


class LineIn(Schema):
    name: str = Field(max_length=100, json_schema_extra=s.SOME_TEXT)
    slug: str = Field(
        max_length=50,
        pattern=r"^[-a-zA-Z0-9_]+$",
        examples=["web-base"],
        description="letters, digits, - and _; unique in the team (another line's slug is a 400)",
    )
    region: str = Field(
        max_length=32, json_schema_extra=s.SOME_TEXT, description="one of the team's regions"
    )
    description: str = Field("", max_length=2000, json_schema_extra=s.PLAIN_TEXT)
    keep: int | None = Field(
        None, ge=1, le=1000, description="the newest N versions stay active; null: all"
    )
    grace_days: int = Field(
        0, ge=0, le=3650, description="days a version out of `keep` stays shared"
    )


class ChannelOut(Schema):
    name: str
    version: int
    image_id: str
    note: str
    moved_at: datetime
    moved_by: str | None = Field(description="null: the system")


class LineOut(Schema):
    slug: str
    name: str
    region: str
    description: str
    keep: int | None
    grace_days: int
    versions: int
    subscribers: int
    channels: list[ChannelOut]


class VersionOut(Schema):
    version: int
    image_id: str
    image_name: str
    state: str = Field(description="active, deprecated or retired (revoked from everyone)")
    members: int = Field(description="active shares the dashboard knows of")
    replacement: str | None = Field(description="deprecated: the image ID that replaces it")
    revoke_on: date | None = Field(description="deprecated: the day it is revoked")
    published_at: datetime


class SubscriberOut(Schema):
    tenant: str
    since: datetime
    until: datetime | None


class LineDetailOut(Schema):
    slug: str
    name: str
    region: str
    description: str
    keep: int | None
    grace_days: int
    versions: list[VersionOut] = Field(description="newest first")
    subscribers: list[SubscriberOut]
    channels: list[ChannelOut]


class PublishIn(Schema):
    image_id: str = Field(min_length=1, max_length=64)


class PublishOut(Schema):
    version: int
    image_id: str
    created: bool = Field(description="false: already a version of the line, nothing was done")
    results: list[s.ShareResult]
    properties_written: bool


class SubscribeIn(Schema):
    until: date | None = Field(None, description="the subscription ends at the end of this day")
    note: str = Field("", max_length=1000, description="why; the justification of a request")


class SubscribeOut(Schema):
    tenant: str
    results: list[s.ShareResult]


class UnsubscribeOut(Schema):
    tenant: str
    revoked: list[int] = Field(description="versions revoked from the tenant")
    failed: list[s.TenantError]


class ChannelIn(Schema):
    image_id: str = Field(min_length=1, max_length=64)
    note: str = Field("", max_length=1000)


class DeprecateIn(Schema):
    replacement: str = Field(
        min_length=1, max_length=64, description="an active version's image ID"
    )
    revoke_on: date
    note: str = Field("", max_length=1000)


class VersionChangeOut(Schema):
    version: VersionOut
    properties_written: bool


# Answers


def _channel_out(channel: LineChannel) -> dict:
    return {
        "name": channel.name, "version": channel.version.number,
        "image_id": channel.version.image_id, "note": channel.note,
        "moved_at": channel.moved_at,
        "moved_by": channel.moved_by.get_username() if channel.moved_by else None,
    }  # fmt: skip


def _version_out(version: LineVersion, members: int = 0) -> dict:
    return {
        "version": version.number, "image_id": version.image_id,
        "image_name": version.image_name, "state": version.state, "members": members,
        "replacement": version.replacement.image_id if version.replacement else None,
        "revoke_on": version.revoke_on, "published_at": version.published_at,
    }  # fmt: skip


def _line_out(line: Line, versions: int, subscribers: int, channels: list) -> dict:
    return {
        "slug": line.slug, "name": line.name, "region": line.region,
        "description": line.description, "keep": line.keep, "grace_days": line.grace_days,
        "versions": versions, "subscribers": subscribers,
        "channels": [_channel_out(c) for c in channels],
    }  # fmt: skip


def _line_for(membership: Membership, slug: str) -> Line:
    return get_object_or_404(Line, team=membership.team, slug=slug)


def _invalid(error: InvalidInput) -> HttpResponse:
    return invalid({error.field: [error.message]})


# Lines


@api.get(
    "/teams/{team}/lines/",
    response={200: list[LineOut], **s.PROBLEMS},
    tags=["lines"],
    summary="The team's image lines, with version and subscriber counts and channels",
)
def lines(request: HttpRequest, team: str):
    rows = selectors_lines.lines_of(membership_for(request, team).team)
    return [_line_out(r.line, r.versions, r.subscribers, r.channels) for r in rows]


@api.post(
    "/teams/{team}/lines/",
    response={201: LineOut, **s.PROBLEMS},
    tags=["lines"],
    summary="Create a line (admins)",
)
def line_create(request: HttpRequest, team: str, payload: LineIn):
    membership = membership_for(request, team, Role.ADMIN)
    form = LineForm(payload.dict(), team=membership.team)
    if not form.is_valid():
        return _form_errors(form, {})

    def work() -> HttpResponse:
        with services.channel(Channel.API):
            try:
                line = services.line_create(
                    team=membership.team, actor=membership.user, **form.cleaned_data
                )
            except InvalidInput as error:
                return _invalid(error)
        return _json(LineOut, _line_out(line, 0, 0, []), status=201)

    return idempotent(request, work)


@api.get(
    "/teams/{team}/lines/{line}/",
    response={200: LineDetailOut, **s.PROBLEMS},
    tags=["lines"],
    summary="One line: its versions with state and member counts, subscribers and channels",
)
def line_detail(request: HttpRequest, team: str, line: str):
    detail = selectors_lines.line_detail(_line_for(membership_for(request, team), line))
    body = _line_out(detail.line, 0, 0, detail.channels)
    body["versions"] = [_version_out(r.version, r.members) for r in detail.versions]
    body["subscribers"] = [
        {"tenant": x.tenant, "since": x.added_at, "until": x.until} for x in detail.subscribers
    ]
    return body


# Versions


@api.post(
    "/teams/{team}/lines/{line}/versions/",
    response={200: PublishOut, **s.CLOUD_PROBLEMS},
    tags=["lines"],
    summary="Publish an image as the line's next version (admins)",
    description=(
        "Shares it with every subscriber, moves `latest`, and writes the line's properties on "
        "the image. 200 with one result per subscriber when every share succeeded; a 502 or "
        "503 problem listing every result otherwise. The same image again: 200, "
        '`"created": false`, nothing done.'
    ),
)
def publish(request: HttpRequest, team: str, line: str, payload: PublishIn):
    membership = membership_for(request, team, Role.ADMIN)
    found = _line_for(membership, line)

    def work() -> HttpResponse:
        with services.channel(Channel.API):
            try:
                result = services.line_publish(
                    line=found, actor=membership.user, image_id=payload.image_id
                )
            except InvalidInput as error:
                return _invalid(error)
        shared = _share_answer(result.outcomes)
        if shared.status_code != 200:
            return shared
        body = {
            "version": result.version.number, "image_id": result.version.image_id,
            "created": result.created, "results": _result_rows(result.outcomes),
            "properties_written": result.label_error is None,
        }  # fmt: skip
        return _json(PublishOut, body)

    return idempotent(request, work)


def _result_rows(outcomes: list[services.ShareOutcome]) -> list[dict]:
    return [
        {
            "tenant": o.tenant,
            "outcome": o.outcome,
            "created": o.created,
            "status": o.status,
            "message": _share_message(o),
            "request_id": o.request_id,
        }  # fmt: skip
        for o in outcomes
    ]


@api.post(
    "/teams/{team}/lines/{line}/versions/{image_id}/deprecate/",
    response={200: VersionChangeOut, **s.CLOUD_PROBLEMS},
    tags=["lines"],
    summary="Deprecate a version: still shared until `revoke_on`, its replacement named",
)
def deprecate(request: HttpRequest, team: str, line: str, image_id: str, payload: DeprecateIn):
    membership = membership_for(request, team, Role.ADMIN)
    version = get_object_or_404(_line_for(membership, line).versions, image_id=image_id)

    def work() -> HttpResponse:
        with services.channel(Channel.API):
            try:
                error = services.version_deprecate(
                    version=version, actor=membership.user,
                    replacement_image_id=payload.replacement, revoke_on=payload.revoke_on,
                    note=payload.note,
                )  # fmt: skip
            except InvalidInput as refused:
                return _invalid(refused)
        body = {"version": _version_out(version), "properties_written": error is None}
        return _json(VersionChangeOut, body)

    return idempotent(request, work)


@api.post(
    "/teams/{team}/lines/{line}/versions/{image_id}/restore/",
    response={200: VersionChangeOut, **s.CLOUD_PROBLEMS},
    tags=["lines"],
    summary="Restore a deprecated version before its date",
)
def restore(request: HttpRequest, team: str, line: str, image_id: str):
    membership = membership_for(request, team, Role.ADMIN)
    version = get_object_or_404(_line_for(membership, line).versions, image_id=image_id)

    def work() -> HttpResponse:
        with services.channel(Channel.API):
            error = services.version_restore(version=version, actor=membership.user)
        body = {"version": _version_out(version), "properties_written": error is None}
        return _json(VersionChangeOut, body)

    return idempotent(request, work)


# Subscribers


@api.put(
    "/teams/{team}/lines/{line}/subscribers/{tenant}/",
    response={200: SubscribeOut, 202: s.AccessRequestOut, **s.CLOUD_PROBLEMS},
    tags=["lines"],
    summary="Subscribe a tenant (or, where the policy needs it, request approval)",
    description=(
        "An admin subscribes directly and the line's active versions are shared at once (200, "
        "one result per version). Where the team's policy needs an approval, 202 and the "
        "access request made; `note` is then its justification."
    ),
)
def subscribe(request: HttpRequest, team: str, line: str, tenant: str, payload: SubscribeIn):
    membership = membership_for(request, team)
    found = _line_for(membership, line)
    try:
        tenants = split_tenants(tenant, found.team)
    except ValidationError as error:
        return invalid({"tenant": error.messages})
    if len(tenants) != 1:
        return invalid({"tenant": ["One tenant ID in the path."]})
    try:
        until = clean_share_until(payload.until, found.team)
    except ValidationError as error:
        return invalid({"until": error.messages})
    checked = tenants[0]
    direct = services.share_route(membership) == services.ShareRoute.DIRECT
    if not direct and not payload.note:
        return invalid({"note": ["Say why the tenant needs this line: an admin decides on it."]})

    def work() -> HttpResponse:
        with services.channel(Channel.API):
            if not direct:
                made = services.line_subscription_request(
                    line=found, tenant=checked, justification=payload.note, until=until,
                    requested_by=membership.user,
                )  # fmt: skip
                return _json(s.AccessRequestOut, _request_out(made), status=202)
            outcomes = services.subscriber_add(
                line=found, actor=membership.user, tenant=checked, until=until, note=payload.note
            )
        shared = _share_answer(outcomes)
        if shared.status_code != 200:
            return shared
        return _json(SubscribeOut, {"tenant": checked, "results": _result_rows(outcomes)})

    return idempotent(request, work)


@api.delete(
    "/teams/{team}/lines/{line}/subscribers/{tenant}/",
    response={200: UnsubscribeOut, **s.CLOUD_PROBLEMS},
    tags=["lines"],
    summary="Remove a subscriber: no future versions; `revoke=true` also revokes the ones it has",
)
def unsubscribe(
    request: HttpRequest, team: str, line: str, tenant: str, revoke: bool = False, note: str = ""
):
    membership = membership_for(request, team, Role.ADMIN)
    found = _line_for(membership, line)

    def work() -> HttpResponse:
        with services.channel(Channel.API):
            results = services.subscriber_remove(
                line=found, actor=membership.user, tenant=tenant, revoke=revoke, note=note[:2000]
            )
        body = {
            "tenant": tenant,
            "revoked": [r.version for r in results if r.error is None],
            "failed": [
                {"tenant": tenant, "message": f"Version {r.version}: {r.error.message}"}
                for r in results
                if r.error is not None
            ],
        }
        return _json(UnsubscribeOut, body)

    return idempotent(request, work)


# Channels


@api.get(
    "/teams/{team}/lines/{line}/channels/{channel}/",
    response={200: ChannelOut, **s.PROBLEMS},
    tags=["lines"],
    summary="Where a channel points: what a consumer's pipeline resolves",
)
def channel(request: HttpRequest, team: str, line: str, channel: str):
    found = _line_for(membership_for(request, team), line)
    return _channel_out(get_object_or_404(found.channels.select_related("version"), name=channel))


@api.put(
    "/teams/{team}/lines/{line}/channels/{channel}/",
    response={200: ChannelOut, **s.PROBLEMS},
    tags=["lines"],
    summary="Move a channel (not `latest`) to a version of the line; a rollback is a move back",
)
def channel_move(request: HttpRequest, team: str, line: str, channel: str, payload: ChannelIn):
    membership = membership_for(request, team, Role.ADMIN)
    found = _line_for(membership, line)
    if not slug_re.fullmatch(channel) or len(channel) > 40:
        return invalid({"channel": ["Letters, digits, - and _ only, at most 40."]})

    def work() -> HttpResponse:
        with services.channel(Channel.API):
            try:
                moved = services.channel_move(
                    line=found, actor=membership.user, name=channel,
                    image_id=payload.image_id, note=payload.note,
                )  # fmt: skip
            except InvalidInput as error:
                return _invalid(error)
        return _json(ChannelOut, _channel_out(moved))

    return idempotent(request, work)
