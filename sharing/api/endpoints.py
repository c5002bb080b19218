"""The automation API's endpoints: thin, over the same services and selectors as the pages.

Each endpoint checks the token's team and role (`membership_for`), validates its input with the
browser's forms, and calls one service or selector. Mutations run inside
`services.channel(Channel.API)`, so their ledger entries say where they came from, and
through `idempotent`, so a repeated `Idempotency-Key` gets the first answer.
"""

import copy
import functools
from collections.abc import Callable
from typing import Any

from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import URLPattern
from ninja import NinjaAPI, Path, Query, Schema
from ninja.openapi.docs import Swagger
from ninja.openapi.schema import OpenAPISchema

from sharing import selectors, services
from sharing.cloud import CloudError, InvalidMarker
from sharing.forms import AccessRequestForm, HistoryFilterForm, RejectForm, ShareForm
from sharing.models import AccessRequest, Channel, Membership, Outcome, Role, Team
from sharing.services import ApplicationError, JustificationNeeded, ShareOutcome
from sharing.wording import error_message, error_text

from . import schemas as s
from .auth import TokenAuth, membership_for
from .idempotency import HEADER, MAX_KEY_LENGTH, idempotent
from .problems import CONTENT_TYPE, cloud_problem, cloud_status, install, invalid, problem


class ProblemsApi(NinjaAPI):
    """django-ninja's API, whose schema says that errors are `application/problem+json`."""

    def get_openapi_schema(self, **kwargs: Any) -> OpenAPISchema:
        schema = super().get_openapi_schema(**kwargs)
        for item in schema["paths"].values():
            for method, operation in item.items():
                for code, answer in operation.get("responses", {}).items():
                    content = answer.get("content", {})
                    if str(code)[0] in "45" and "application/json" in content:
                        content[CONTENT_TYPE] = content.pop("application/json")
                for parameter in operation.get("parameters", []):
                    if parameter["in"] == "query":
                        parameter["schema"] = _not_null(parameter["schema"])
                if method in ("post", "delete"):
                    operation.setdefault("parameters", []).append(copy.deepcopy(IDEMPOTENCY_KEY))
        return schema


# Read by `idempotent` rather than by django-ninja, so said here (docs/api.md, Idempotency-Key).
IDEMPOTENCY_KEY = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": "a key for this request (a build number, a UUID): a repeat with the same key "
    "and request gets the first answer, and nothing is done again",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": r"\S"},
}


def _not_null(schema: dict) -> dict:
    """An optional query parameter is left out, never `null`: a query string has no null, and
    `?cursor=null` is the text "null". So `anyOf [X, null]` is said as X."""
    branches = schema.get("anyOf")
    if not isinstance(branches, list) or {"type": "null"} not in branches:
        return schema
    rest = [branch for branch in branches if branch != {"type": "null"}]
    outer = {key: value for key, value in schema.items() if key != "anyOf"}
    if len(rest) != 1:
        return {**outer, "anyOf": rest}
    return {**rest[0], **outer}


api = ProblemsApi(
    title="Image sharing dashboard API",
    version="1",
    description=(
        "Share a team's images with other accounts, revoke shares, answer incoming shares, "
        "file and decide access requests, and read the history, with the same roles, approvals "
        "and ledger as the dashboard. Authenticate with `Authorization: Bearer <token>`: "
        "tokens are made on the team's *API tokens* page. Mutations take an `Idempotency-Key` "
        "header. Errors are `application/problem+json` (RFC 9457)."
    ),
    urls_namespace="api",
    auth=TokenAuth(),
    docs=Swagger(settings={"persistAuthorization": False}),
)
install(api)

PAGE = 50
REGION = Query(
    None,
    description="one of the team's regions; the team's default region when left out (or "
    "when it names none of them)",
)
IMAGE_CURSOR = Query(
    None,
    max_length=255,
    description="`next` of the previous page; a cursor the cloud does not know is a 400",
)
# Database ids: a cursor or id beyond these is no id at all.
PAGE_CURSOR = Query(None, ge=1, le=s.BIGINT, description="`next` of the previous page")
REQUEST_ID = Path(ge=1, le=s.BIGINT)


def urls() -> tuple[list, str, str]:
    """The API's URL patterns, with a problem instead of django-ninja's plain-text 405."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = _problem_for_405(pattern.callback)
    return patterns, app_name, namespace


def _problem_for_405(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if not isinstance(response, HttpResponseNotAllowed):
            return response
        allowed = problem(405, f"This path takes {response['Allow']}.")
        allowed["Allow"] = response["Allow"]
        return allowed

    return wrapped


def _json(schema: type[Schema], data: object, status: int = 200) -> HttpResponse:
    body = schema.model_validate(data).model_dump_json()
    return HttpResponse(body, status=status, content_type="application/json")


def _region(team: Team, region: str | None) -> str:
    return team.region_or_default(region)


def _form_errors(form: Form, names: dict[str, str]) -> HttpResponse:
    errors = {
        ("body" if field == "__all__" else names.get(field, field)): [str(m) for m in messages]
        for field, messages in form.errors.items()
    }
    return invalid(errors)


# Images and their members


@api.get(
    "/teams/{team}/images/",
    response={200: s.ImagesPage, **s.CLOUD_PROBLEMS},
    tags=["images"],
    summary="The team's own images, with their member counts",
    description=(
        "One page of the cloud's list; pass `next` as `cursor` for the following one. When the "
        "cloud does not answer, a 503 problem (502 when it refused) with the upstream "
        "`request_id`, never the images the dashboard's records name in their place."
    ),
)
def images(
    request: HttpRequest, team: str, region: str | None = REGION, cursor: str | None = IMAGE_CURSOR
):
    found_team = membership_for(request, team).team
    found = selectors.images_page(
        team=found_team, region=_region(found_team, region), marker=cursor, filters={}
    )
    if isinstance(found.error, InvalidMarker):
        # Our caller's input, not the cloud's failure (docs/glance.md §3.1: a 400 for a marker).
        return invalid({"cursor": ["No such page: pass `next` from the previous page."]})
    if found.error is not None:
        raise found.error
    results = [
        {
            "id": image.id,
            "name": image.name,
            "status": image.status,
            "visibility": image.visibility,
            "members": counts.get("total", 0),
        }
        for image, counts in found.rows
    ]
    return {"results": results, "next": found.page.next_marker if found.page else None}


@api.get(
    "/teams/{team}/images/{image_id}/members/",
    response={200: s.MembersOut, **s.CLOUD_PROBLEMS},
    tags=["images"],
    summary="An image's members: the cloud's, with what the dashboard knows of each",
    description=(
        "The members as the cloud lists them now. When the cloud does not answer, a 503 "
        "problem (502 when it refused) with the upstream `request_id`, never the dashboard's "
        "own records in their place: a pipeline that checks whether customers accepted must "
        "not read a stale status as the cloud's. The images list answers an outage the same way."
    ),
)
def members(request: HttpRequest, team: str, image_id: str, region: str | None = REGION):
    found_team = membership_for(request, team).team
    detail = selectors.image_detail(
        team=found_team, region=_region(found_team, region), image_id=image_id
    )
    if detail.error is not None:
        # The selector fell back on our records for the page's banner; the API says the truth.
        raise detail.error
    results = [
        {
            "tenant": row.tenant,
            "status": row.status,
            "since": row.since,
            "until": row.share.expires_at if row.share else None,
            "shared_by": row.share.shared_by.get_username()
            if row.share and row.share.shared_by
            else None,
        }
        for row in detail.members or []
    ]
    return {"image_id": image_id, "results": results, "reason": detail.no_members_reason}


@api.post(
    "/teams/{team}/images/{image_id}/members/",
    response={200: s.ShareResults, 202: s.RequestsMade, **s.CLOUD_PROBLEMS},
    tags=["images"],
    summary="Share an image with tenants (or, where the policy needs it, request approval)",
    description=(
        "200 with one result per tenant when every share succeeded. When one did not, a "
        "502 or 503 problem that still lists every tenant's result in `results` (503: trying "
        "again later could help; repeating a share is safe). Where the team's policy needs an "
        "admin's approval (a member, or any admin under the four-eyes policy), 202 and the "
        "access requests made instead; a member's `note` is then the justification."
    ),
)
def share(
    request: HttpRequest, team: str, image_id: str, payload: s.ShareIn, region: str | None = None
):
    membership = membership_for(request, team, Role.MEMBER)
    found_team = membership.team
    form = ShareForm(
        {"members": "\n".join(payload.tenants), "expires_at": payload.until, "note": payload.note},
        team=found_team,
    )
    if not form.is_valid():
        return _form_errors(form, {"members": "tenants", "expires_at": "until"})
    data, where = form.cleaned_data, _region(found_team, region)
    try:  # before the idempotent work: a 400 like the form's, not kept for the key
        services.share_route_check(membership=membership, note=data["note"])
    except JustificationNeeded as needed:
        return invalid({"note": [needed.message]})

    def work() -> HttpResponse:
        with services.channel(Channel.API):
            result = services.share_or_request(
                membership=membership, region=where, image_id=image_id, tenants=data["tenants"],
                expires_at=data["expires_at"], note=data["note"], make_shared=payload.make_shared,
            )  # fmt: skip
        if isinstance(result, services.RequestsFiled):
            return _requests_answer(result.made)
        return _share_answer(result.outcomes)

    return idempotent(request, work)


def _share_message(outcome: ShareOutcome) -> str:
    if outcome.error is not None:
        return error_text(outcome.error)
    return "Shared." if outcome.created else f"Already shared ({outcome.status})."


def _share_answer(outcomes: list[ShareOutcome]) -> HttpResponse:
    results = [
        {
            "tenant": o.tenant,
            "outcome": o.outcome,
            "created": o.created,
            "status": o.status,
            "message": _share_message(o),
            "request_id": o.request_id,
        }
        for o in outcomes
    ]
    missed = [o for o in outcomes if o.outcome != Outcome.SUCCEEDED]
    if not missed:
        return _json(s.ShareResults, {"results": results})
    errors = [o.error for o in missed if o.error is not None]
    retry = all(cloud_status(error) == 503 for error in errors)
    return problem(
        503 if retry else 502,
        f"{len(missed)} of {len(outcomes)} shares did not succeed; see `results`.",
        kind="cloud",
        title="The cloud did not do it",
        request_id=next((e.request_id for e in errors if e.request_id), None),
        results=results,
    )


def _requests_answer(
    made: list[tuple[str, AccessRequest | ApplicationError | CloudError]],
) -> HttpResponse:
    requests = [_request_out(found) for _, found in made if isinstance(found, AccessRequest)]
    refused = [
        {"tenant": tenant, "message": error_message(found)}
        for tenant, found in made
        if not isinstance(found, AccessRequest)
    ]
    if requests:
        return _json(s.RequestsMade, {"requests": requests, "refused": refused}, status=202)
    first = made[0][1]
    if isinstance(first, CloudError):
        return cloud_problem(first, refused=refused)
    return problem(409, "No request was made; see `refused`.", kind="rule", refused=refused)


@api.delete(
    "/teams/{team}/images/{image_id}/members/{tenant}/",
    response={200: s.RevokeOut, **s.CLOUD_PROBLEMS},
    tags=["images"],
    summary="Revoke a share",
)
def revoke(
    request: HttpRequest,
    team: str,
    image_id: str,
    tenant: str,
    region: str | None = REGION,
    note: str = Query(
        "", max_length=2000, pattern=s.NO_NUL, description="why; kept in the history"
    ),
):
    membership = membership_for(request, team, Role.ADMIN)
    found_team = membership.team

    def work() -> HttpResponse:
        with services.channel(Channel.API):
            services.share_revoke(
                team=found_team, actor=membership.user, region=_region(found_team, region),
                image_id=image_id, tenant=tenant, note=note[:2000],
            )  # fmt: skip
        message = f"Revoked: {tenant} can no longer use this image."
        return _json(s.RevokeOut, {"outcome": Outcome.SUCCEEDED, "message": message})

    return idempotent(request, work)


# Incoming shares


@api.get(
    "/teams/{team}/incoming/",
    response={200: list[s.IncomingOut], **s.CLOUD_PROBLEMS},
    tags=["incoming"],
    summary="Images other accounts shared with the team, in every status",
)
def incoming(request: HttpRequest, team: str, region: str | None = REGION):
    found_team = membership_for(request, team).team
    rows = selectors.incoming_images(team=found_team, region=_region(found_team, region))
    return [
        {"image_id": image.id, "name": image.name, "owner": image.owner, "status": status}
        for image, status in rows
    ]


@api.post(
    "/teams/{team}/incoming/{image_id}/",
    response={200: s.IncomingSetOut, **s.CLOUD_PROBLEMS},
    tags=["incoming"],
    summary="Accept, reject or reset to pending an image shared with the team",
)
def incoming_set(
    request: HttpRequest,
    team: str,
    image_id: str,
    payload: s.IncomingIn,
    region: str | None = REGION,
):
    membership = membership_for(request, team, Role.ADMIN)
    found_team = membership.team

    def work() -> HttpResponse:
        with services.channel(Channel.API):
            image, result = services.incoming_set_status(
                team=found_team, actor=membership.user, region=_region(found_team, region),
                image_id=image_id, status=payload.status,
            )  # fmt: skip
        answer = {
            "image_id": image.id,
            "name": image.name,
            "status": result.member.status or payload.status,
            "request_id": result.request_id,
        }
        return _json(s.IncomingSetOut, answer)

    return idempotent(request, work)


# Access requests


def _request_out(found: AccessRequest) -> dict:
    return {
        "id": found.pk,
        "region": found.region,
        "image_id": found.image_id,
        "image_name": found.image_name,
        "member": found.tenant,
        "justification": found.justification,
        "until": found.share_until,
        "status": found.status,
        "requested_by": found.requester_name,
        "created_at": found.created_at,
        "decided_by": found.decided_by.get_username() if found.decided_by else None,
        "decided_at": found.decided_at,
        "decision_note": found.decision_note,
        "failure": found.failure,
        "line": found.line.slug if found.line_id and found.line else None,
    }


def _access_request(membership: Membership, pk: int) -> AccessRequest:
    found = (
        AccessRequest.objects.select_related("team", "decided_by")
        .filter(team=membership.team, pk=pk)
        .first()
    )
    if found is None:
        raise Http404(f"This team has no access request #{pk}.")
    return found


@api.get(
    "/teams/{team}/requests/",
    response={200: s.AccessRequestsPage, **s.PROBLEMS},
    tags=["requests"],
    summary="Access requests, newest first: `open` (the default), a status, or `all`",
)
def requests(
    request: HttpRequest,
    team: str,
    status: s.RequestFilter = "open",
    cursor: int | None = PAGE_CURSOR,
):
    found_team = membership_for(request, team).team
    listed = selectors.access_requests(team=found_team, status=status).order_by("-id")
    if cursor is not None:
        listed = listed.filter(pk__lt=cursor)
    page = list(listed[: PAGE + 1])
    more = len(page) > PAGE
    page = page[:PAGE]
    return {"results": [_request_out(r) for r in page], "next": page[-1].pk if more else None}


@api.post(
    "/teams/{team}/requests/",
    response={201: s.AccessRequestOut, **s.CLOUD_PROBLEMS},
    tags=["requests"],
    summary="Ask for an image to be shared with a tenant; the team's admins decide",
)
def request_create(
    request: HttpRequest, team: str, payload: s.AccessRequestIn, region: str | None = REGION
):
    membership = membership_for(request, team)
    found_team = membership.team
    form = AccessRequestForm(
        {
            "image_id": payload.image_id,
            "member": payload.member,
            "justification": payload.justification,
            "expires_at": payload.until,
        },
        team=found_team,
    )
    if not form.is_valid():
        return _form_errors(form, {"expires_at": "until"})
    data = form.cleaned_data

    def work() -> HttpResponse:
        with services.channel(Channel.API):
            created = services.access_request_create(
                team=found_team, region=_region(found_team, region), image_id=data["image_id"],
                tenant=data["tenant"], justification=data["justification"],
                share_until=data["expires_at"], requested_by=membership.user,
            )  # fmt: skip
        return _json(s.AccessRequestOut, _request_out(created), status=201)

    return idempotent(request, work)


@api.get(
    "/teams/{team}/requests/{request_id}/",
    response={200: s.AccessRequestOut, **s.PROBLEMS},
    tags=["requests"],
    summary="One access request and its status",
)
def request_detail(request: HttpRequest, team: str, request_id: int = REQUEST_ID):
    return _request_out(_access_request(membership_for(request, team), request_id))


@api.post(
    "/teams/{team}/requests/{request_id}/approve/",
    response={200: s.AccessRequestOut, **s.CLOUD_PROBLEMS},
    tags=["requests"],
    summary="Approve a request: the image is shared (status `failed` if the share failed)",
)
def request_approve(
    request: HttpRequest, team: str, payload: s.ApproveIn, request_id: int = REQUEST_ID
):
    membership = membership_for(request, team, Role.ADMIN)
    found = _access_request(membership, request_id)

    def work() -> HttpResponse:
        with services.channel(Channel.API):
            decided = services.access_request_approve(
                access_request=found, actor=membership.user, note=payload.note,
                make_shared=payload.make_shared,
            )  # fmt: skip
        return _json(s.AccessRequestOut, _request_out(decided))

    return idempotent(request, work)


@api.post(
    "/teams/{team}/requests/{request_id}/reject/",
    response={200: s.AccessRequestOut, **s.PROBLEMS},
    tags=["requests"],
    summary="Reject a request, saying why",
)
def request_reject(
    request: HttpRequest, team: str, payload: s.RejectIn, request_id: int = REQUEST_ID
):
    membership = membership_for(request, team, Role.ADMIN)
    found = _access_request(membership, request_id)
    form = RejectForm({"note": payload.note})
    if not form.is_valid():
        return _form_errors(form, {})

    def work() -> HttpResponse:
        with services.channel(Channel.API):
            decided = services.access_request_reject(
                access_request=found, actor=membership.user, note=form.cleaned_data["note"]
            )
        return _json(s.AccessRequestOut, _request_out(decided))

    return idempotent(request, work)


# History


@api.get(
    "/teams/{team}/history/",
    response={200: s.HistoryPage, **s.PROBLEMS},
    tags=["history"],
    summary="The ledger, newest first, with the browser's filters",
)
def history(
    request: HttpRequest,
    team: str,
    filters: Query[s.HistoryFilters],
    cursor: int | None = PAGE_CURSOR,
):
    membership = membership_for(request, team, Role.AUDITOR)
    form = HistoryFilterForm(filters.dict(exclude_none=True))
    if not form.is_valid():
        return _form_errors(form, {})
    found_team = membership.team
    with services.channel(Channel.API):
        links, head = services.history_export_record(
            team=found_team, actor=membership.user, what="API history", filters=form.cleaned_data
        )
    entries = selectors.history_entries(team=found_team, filters=form.cleaned_data)
    page, next_before = selectors.history_page(entries, before=cursor)
    results = [_entry_out(entry) for entry in page]
    return {"results": results, "next": next_before, "head": {"links": links, "hash": head}}


def _entry_out(entry) -> dict:
    return {
        "id": entry.pk,
        "created_at": entry.created_at,
        "actor": entry.actor_name,
        "channel": entry.channel,
        "action": entry.action,
        "region": entry.region,
        "image_id": entry.image_id,
        "image_name": entry.image_name,
        "tenant": entry.tenant,
        "note": entry.note,
        "outcome": entry.outcome,
        "http_status": entry.http_status,
        "request_id": entry.request_id,
        "message": entry.message,
        "completed_at": entry.completed_at,
        "access_request": entry.access_request_id,
        "settled_at": entry.settled_at,
        "settlement": entry.settlement,
    }


# The ledger's endpoints join `api` when this module loads, before anything reads its URLs or
# its document (django-ninja freezes the routes then).
from . import incoming_lines, ledger, lines  # noqa: E402, F401, I001
from sharing.webhooks import api as webhooks_api  # noqa: E402, F401, I001
