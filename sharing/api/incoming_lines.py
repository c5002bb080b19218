"""The automation API's consumer side of lines (docs/design.md, "Incoming lines and trust
rules"): the lines shared with the team, which a pipeline resolves to the image it boots, and
the trust rules. Same `api`, same rules: tokens and roles, `Idempotency-Key` on mutations,
problems for errors. Thin, over selectors_incoming and services.trust.
"""

from datetime import datetime
from typing import Literal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Schema

from sharing import selectors, services
from sharing.models import Channel, Role, TrustRule
from sharing.selectors_incoming import IncomingLine, IncomingVersion, incoming_grouped
from sharing.services import InvalidInput

from . import schemas as s
from .auth import membership_for
from .endpoints import REGION, _json, _region, api
from .idempotency import idempotent
from .problems import invalid

# Schemas


class IncomingVersionOut(Schema):
    image_id: str
    version: int | None = Field(description="`image_line_version`; null when not a number")
    state: Literal["active", "deprecated"]
    replacement: str | None = Field(description="deprecated: the image ID that replaces it")


class NewestActiveOut(Schema):
    image_id: str
    version: int | None


class IncomingLineOut(Schema):
    owner: str = Field(description="the tenant that shares the line")
    line: str = Field(description="the line's slug, from the `image_line` property")
    versions: list[IncomingVersionOut] = Field(description="newest first")
    newest_active: NewestActiveOut | None = Field(
        description="what to boot: the newest version not deprecated; null if none"
    )


class IncomingLinesOut(Schema):
    results: list[IncomingLineOut]


class RuleIn(Schema):
    owner: str = Field(
        max_length=255, json_schema_extra=s.SOME_TEXT, description=f"the owner's {s.TENANT_RULE}"
    )
    line: str | None = Field(
        None,
        max_length=50,
        pattern=r"^[-a-zA-Z0-9_]+$",
        description="the owner's line slug (`image_line`); null or absent: every image",
    )
    mode: Literal["audit", "enforce"]


class RuleOut(Schema):
    id: int
    owner: str
    line: str | None
    mode: str
    created_at: datetime
    created_by: str | None = Field(description="null: the user was deleted")


# Answers


def _version_out(version: IncomingVersion) -> dict:
    return {
        "image_id": version.image.id, "version": version.number, "state": version.state,
        "replacement": version.replacement,
    }  # fmt: skip


def _line_out(line: IncomingLine) -> dict:
    newest = line.newest_active
    return {
        "owner": line.owner,
        "line": line.line,
        "versions": [_version_out(v) for v in line.versions],
        "newest_active": {"image_id": newest.image.id, "version": newest.number}
        if newest
        else None,
    }


def _rule_out(rule: TrustRule) -> dict:
    return {
        "id": rule.pk, "owner": rule.owner, "line": rule.line or None, "mode": rule.mode,
        "created_at": rule.created_at,
        "created_by": rule.created_by.get_username() if rule.created_by else None,
    }  # fmt: skip


# Incoming lines


@api.get(
    "/teams/{team}/incoming/lines/",
    response={200: IncomingLinesOut, **s.CLOUD_PROBLEMS},
    tags=["incoming"],
    summary="Image lines shared with the team, by owner: versions newest first, the one to boot",
    description=(
        "Read from the properties each owner writes on its versions (`image_line`, "
        "`image_line_version`, `image_line_state`, `image_line_replacement`), whatever "
        "dashboard the owner uses. Images of any member status are listed: in Glance a member "
        "may boot a shared image whatever its status."
    ),
)
def incoming_lines(request: HttpRequest, team: str, region: str | None = REGION):
    found = membership_for(request, team).team
    lines, _ = incoming_grouped(
        selectors.incoming_images(team=found, region=_region(found, region))
    )
    return {"results": [_line_out(line) for line in lines]}


# Trust rules


@api.get(
    "/teams/{team}/incoming/rules/",
    response={200: list[RuleOut], **s.PROBLEMS},
    tags=["incoming"],
    summary="The team's trust rules",
)
def rules(request: HttpRequest, team: str):
    found = membership_for(request, team).team
    return [_rule_out(rule) for rule in found.trust_rules.select_related("created_by")]


@api.post(
    "/teams/{team}/incoming/rules/",
    response={201: RuleOut, **s.PROBLEMS},
    tags=["incoming"],
    summary="Add a trust rule (admins); 409 when one for that owner and line exists",
    description=(
        "At each sync, pending images shared by `owner` (of `line`, if given) are accepted "
        "for the team (`enforce`, as the system with the rule named) or recorded as what the "
        "rule would accept (`audit`). Deprecated versions are never accepted."
    ),
)
def rule_create(request: HttpRequest, team: str, payload: RuleIn):
    membership = membership_for(request, team, Role.ADMIN)

    def work() -> HttpResponse:
        with services.channel(Channel.API):
            try:
                rule = services.trust_rule_create(
                    team=membership.team, actor=membership.user, owner=payload.owner,
                    line=payload.line or "", mode=payload.mode,
                )  # fmt: skip
            except InvalidInput as error:
                return invalid({error.field: [error.message]})
        return _json(RuleOut, _rule_out(rule), status=201)

    return idempotent(request, work)


@api.delete(
    "/teams/{team}/incoming/rules/{rule_id}/",
    response={204: None, **s.PROBLEMS},
    tags=["incoming"],
    summary="Delete a trust rule (admins); what it accepted stays accepted",
)
def rule_delete(request: HttpRequest, team: str, rule_id: int):
    membership = membership_for(request, team, Role.ADMIN)
    rule = get_object_or_404(TrustRule, team=membership.team, pk=rule_id)

    def work() -> HttpResponse:
        with services.channel(Channel.API):
            services.trust_rule_delete(rule=rule, actor=membership.user)
        return HttpResponse(status=204)

    return idempotent(request, work)


# `/incoming/{image_id}/` (answering one image) was registered first and would take
# `/incoming/lines/` and `/incoming/rules/` as image IDs: URLs are tried in registration
# order, so it moves behind them.
_operations = api.default_router.path_operations
_operations["/teams/{team}/incoming/{image_id}/"] = _operations.pop(
    "/teams/{team}/incoming/{image_id}/"
)
