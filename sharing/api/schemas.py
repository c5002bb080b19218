"""What the API reads and answers, as typed schemas: the OpenAPI document is built from them."""

from datetime import date, datetime
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic.json_schema import JsonDict

from sharing.models import Action, Channel, Outcome, RequestStatus

# Rules the document states in words, because they depend on the team or on today.
UNTIL_RULE = (
    "YYYY-MM-DD, the last day of the share (it ends at the end of that day in the team's time "
    "zone). Not in the past, and at most the team's maximum share length from today "
    "(Team settings; 365 days unless changed): another day is a 400."
)
TENANT_RULE = (
    "a tenant ID in the team's format (digits for a Rackspace account, 32 hex characters for "
    "a Keystone project, or any ID without spaces), not the team's own account"
)
# Text never holds a NUL character (Django's forms refuse it, PostgreSQL cannot store it).
NO_NUL = r"^[^\x00]*$"
# At least one character that is not white space (the text is stripped, then required), and no
# NUL. The forms check it, with their own words; the document says it as minLength and pattern.
SOME_TEXT: JsonDict = {"minLength": 1, "pattern": r"^[^\x00]*[^\s\x00][^\x00]*$"}
PLAIN_TEXT: JsonDict = {"pattern": NO_NUL}
BIGINT = 2**63 - 1
# A date from 1900 on: the history's dates are bounded below like the browser's filter.
FROM_1900 = r"^(19|[2-9][0-9])[0-9]{2}-"

Tenant = Annotated[
    str, Field(max_length=255, json_schema_extra={"minLength": 1, "pattern": r"^[^\s,;\x00]+$"})
]


class ImageOut(Schema):
    id: str
    name: str | None
    status: str | None
    visibility: str | None
    members: int = Field(description="active shares the dashboard knows of")


class ImagesPage(Schema):
    results: list[ImageOut]
    next: str | None = Field(description="pass as `cursor` for the next page; null at the end")


class MemberOut(Schema):
    tenant: str
    status: str | None = Field(description="pending, accepted, rejected; null: not confirmed yet")
    since: datetime | None
    until: datetime | None = Field(description="when the share ends by itself")
    shared_by: str | None = Field(description="null: shared outside the dashboard")


class MembersOut(Schema):
    image_id: str
    results: list[MemberOut]
    reason: str = Field("", description="why the image cannot have members, if it cannot")


class ShareIn(Schema):
    tenants: list[Tenant] = Field(
        min_length=1,
        max_length=500,
        examples=[["100002", "100003"]],
        description=f"each {TENANT_RULE}",
    )
    until: date | None = Field(None, description=UNTIL_RULE)
    note: str = Field(
        "", max_length=1000, json_schema_extra=PLAIN_TEXT, description="why; kept in the history"
    )
    make_shared: bool = Field(False, description="switch a private image to shared first")


class ShareResult(Schema):
    tenant: str
    outcome: Literal["succeeded", "failed", "unknown"]
    created: bool = Field(description="false: it was a member already")
    status: str | None = Field(description="the member's status")
    message: str
    request_id: str | None = Field(description="the cloud's x-openstack-request-id")


class ShareResults(Schema):
    results: list[ShareResult]


class AccessRequestOut(Schema):
    id: int
    region: str
    image_id: str
    image_name: str
    member: str
    justification: str
    until: datetime | None
    status: str
    requested_by: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str
    failure: str = Field(description="why the approved share failed, when it did")
    line: str | None = Field(
        None, description="a subscription to this image line (its slug) instead of one image"
    )


class TenantError(Schema):
    tenant: str
    message: str


class RequestsMade(Schema):
    """The team's policy needs an admin's approval: the requests made instead of shares."""

    requests: list[AccessRequestOut]
    refused: list[TenantError] = Field(description="tenants for which no request was made")


class RevokeOut(Schema):
    outcome: Literal["succeeded"]
    message: str


class IncomingOut(Schema):
    image_id: str
    name: str | None
    owner: str | None
    status: str = Field(description="this team's member status: pending, accepted, rejected")


class IncomingIn(Schema):
    status: Literal["accepted", "rejected", "pending"]


class IncomingSetOut(Schema):
    image_id: str
    name: str | None
    status: str
    request_id: str | None


class AccessRequestIn(Schema):
    image_id: str = Field(max_length=64, json_schema_extra=SOME_TEXT)
    member: str = Field(
        max_length=255,
        json_schema_extra=SOME_TEXT,
        description=f"{TENANT_RULE}; or the name of one of the team's partners",
    )
    justification: str = Field(
        max_length=2000, json_schema_extra=SOME_TEXT, description="why; the admins decide"
    )
    until: date | None = Field(None, description=UNTIL_RULE)


RequestFilter = RequestStatus | Literal["open", "all"]


class AccessRequestsPage(Schema):
    results: list[AccessRequestOut]
    next: int | None = Field(description="pass as `cursor` for the next page; null at the end")


class ApproveIn(Schema):
    note: str = Field("", max_length=2000, pattern=NO_NUL)
    make_shared: bool = Field(False, description="switch a private image to shared first")


class RejectIn(Schema):
    note: str = Field(
        max_length=2000, json_schema_extra=SOME_TEXT, description="why; the requester sees it"
    )


class EntryOut(Schema):
    id: int
    created_at: datetime
    actor: str
    channel: str = Field(description="web, api or system")
    action: str
    region: str
    image_id: str
    image_name: str
    tenant: str
    note: str
    outcome: str | None = Field(description="succeeded, failed, unknown; null: unresolved")
    http_status: int | None
    request_id: str
    message: str
    completed_at: datetime | None
    access_request: int | None
    settled_at: datetime | None
    settlement: str


class HeadOut(Schema):
    links: int = Field(description="the number of links in the team's chain")
    hash: str = Field(description="the hash of the newest link")


class HistoryPage(Schema):
    results: list[EntryOut]
    next: int | None = Field(description="pass as `cursor` for the next page; null at the end")
    head: HeadOut = Field(
        description="the head of the ledger's chain this page was cut at; each read of the "
        "history is recorded in the ledger as an export"
    )


class HistoryFilters(Schema):
    """The browser's history filters."""

    image: str | None = Field(
        None, max_length=255, json_schema_extra=PLAIN_TEXT, description="an image's name or ID"
    )
    member: str | None = Field(
        None, max_length=255, json_schema_extra=PLAIN_TEXT, description="a tenant ID"
    )
    actor: str | None = Field(
        None, max_length=150, json_schema_extra=PLAIN_TEXT, description="who, by user name"
    )
    action: Action | None = None
    outcome: Outcome | Literal["unresolved"] | None = Field(
        None, description="unresolved: an outcome not known yet"
    )
    channel: Channel | None = None
    since: date | None = Field(
        None, description="YYYY-MM-DD, from 1900 on", json_schema_extra={"pattern": FROM_1900}
    )
    until: date | None = Field(
        None,
        description="YYYY-MM-DD, from 1900 on and not before `since`",
        json_schema_extra={"pattern": FROM_1900},
    )


class Problem(Schema):
    """RFC 9457 problem details; more members may follow (`errors`, `request_id`...)."""

    type: str = Field(examples=["about:blank"])
    title: str
    status: int
    detail: str
    errors: dict[str, list[str]] | None = Field(None, description="400: messages per field")
    request_id: str | None = Field(None, description="the cloud's x-openstack-request-id")
    upstream_status: int | None = Field(None, description="the cloud's HTTP status")
    outcome: str | None = Field(None, description="a cloud failure: failed, or unknown")
    results: list[ShareResult] | None = Field(None, description="a share: every tenant's result")
    refused: list[TenantError] | None = Field(None, description="tenants without a request")


PROBLEMS: dict[int, type[Schema]] = {code: Problem for code in (400, 401, 403, 404, 409, 429)}
CLOUD_PROBLEMS: dict[int, type[Schema]] = {**PROBLEMS, 502: Problem, 503: Problem}
