"""What the API reads and answers, as typed schemas: the OpenAPI document is built from them."""

from datetime import date, datetime
from typing import Literal

from ninja import Field, Schema


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
    tenants: list[str] = Field(min_length=1, max_length=500, examples=[["100002", "100003"]])
    until: date | None = Field(None, description="the share ends at the end of this day")
    note: str = Field("", max_length=1000, description="why; kept in the history")
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
    image_id: str = Field(max_length=64)
    member: str = Field(max_length=255, description="a tenant ID, or a partner's name")
    justification: str = Field(max_length=2000)
    until: date | None = None


class AccessRequestsPage(Schema):
    results: list[AccessRequestOut]
    next: int | None = Field(description="pass as `cursor` for the next page; null at the end")


class ApproveIn(Schema):
    note: str = Field("", max_length=2000)
    make_shared: bool = Field(False, description="switch a private image to shared first")


class RejectIn(Schema):
    note: str = Field(max_length=2000, description="why; the requester sees it")


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


class HistoryPage(Schema):
    results: list[EntryOut]
    next: int | None = Field(description="pass as `cursor` for the next page; null at the end")


class HistoryFilters(Schema):
    """The browser's history filters."""

    image: str | None = None
    member: str | None = None
    actor: str | None = None
    action: str | None = None
    outcome: str | None = Field(None, description="succeeded, failed, unknown or unresolved")
    channel: str | None = Field(None, description="web, api or system")
    since: str | None = Field(None, description="YYYY-MM-DD")
    until: str | None = Field(None, description="YYYY-MM-DD")


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
