"""The image line pages (docs/design.md, "Image lines"): thin views over services.lines.

Everyone in the team sees lines; admins create them, publish, move channels, deprecate and
manage subscribers. A subscription asked for by anyone else (or by an admin under the
four-eyes policy) becomes an access request, decided in the same queue as shares.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_ratelimit.decorators import ratelimit

from sharing import notifications, selectors_lines, services
from sharing.access import AuthedRequest, team_for
from sharing.cloud import CloudError, NotFound
from sharing.forms import (
    ChannelForm,
    DeprecateForm,
    LineForm,
    OutsideLineRequestForm,
    PublishForm,
    SubscriberForm,
    SubscriberRemoveForm,
)
from sharing.models import Line, Membership, Outcome, Role
from sharing.services import ApplicationError, InvalidInput
from sharing.views import _link_team, _per_address, _per_link
from sharing.wording import error_message, error_text


def _line_for(membership: Membership, slug: str) -> Line:
    return get_object_or_404(Line, team=membership.team, slug=slug)


def _to_line(line: Line) -> HttpResponse:
    return redirect("line", team_slug=line.team.slug, slug=line.slug)


def _form_errors(request: AuthedRequest, form) -> None:
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else error)


@login_required
@require_http_methods(["GET", "POST"])
def lines(request: AuthedRequest, team_slug: str) -> HttpResponse:
    role = Role.ADMIN if request.method == "POST" else Role.VIEWER
    membership = team_for(request, team_slug, role=role)
    team = membership.team
    form = LineForm(request.POST or None, team=team)
    if request.method == "POST" and form.is_valid():
        try:
            line = services.line_create(team=team, actor=request.user, **form.cleaned_data)
        except InvalidInput as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        except ApplicationError as error:  # the slug is taken
            form.add_error("slug", error.message)
        else:
            messages.success(request, f"Line {line.name} created: publish its first version.")
            return _to_line(line)
    rows = selectors_lines.lines_of(team)
    return render(request, "lines/lines.html", {"rows": rows, "form": form})


@login_required
@require_GET
def line(request: AuthedRequest, team_slug: str, slug: str) -> HttpResponse:
    membership = team_for(request, team_slug)
    found = _line_for(membership, slug)
    context = {
        "line": found,
        "detail": selectors_lines.line_detail(found),
        "publish_form": PublishForm(),
        "subscriber_form": SubscriberForm(team=found.team),
        "channel_form": ChannelForm(),
        "deprecate_form": DeprecateForm(),
        "direct": services.share_route(membership) == services.ShareRoute.DIRECT,
        "has_stable": found.channels.filter(name="stable").exists(),
    }
    return render(request, "lines/line.html", context)


@login_required
@require_POST
def line_publish(request: AuthedRequest, team_slug: str, slug: str) -> HttpResponse:
    found = _line_for(team_for(request, team_slug, role=Role.ADMIN), slug)
    form = PublishForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _to_line(found)
    image_id = form.cleaned_data["image_id"]
    try:
        result = services.line_publish(line=found, actor=request.user, image_id=image_id)
    except NotFound:
        messages.error(request, f"There is no image {image_id} of this team in {found.region}.")
    except (ApplicationError, CloudError) as error:
        messages.error(request, error_message(error))
    else:
        _report_publish(request, result)
    return _to_line(found)


def _report_publish(request: AuthedRequest, result: services.PublishResult) -> None:
    number = result.version.number
    if not result.created:
        messages.info(request, f"This image already is version {number}: nothing changed.")
        return
    shared = [o.tenant for o in result.outcomes if o.outcome == Outcome.SUCCEEDED]
    messages.success(
        request, f"Published version {number}; shared with {len(shared)} subscriber(s)."
    )
    for outcome in result.outcomes:
        if outcome.error is not None:
            kind = "not confirmed yet" if outcome.outcome == Outcome.UNKNOWN else "not shared"
            messages.warning(request, f"{outcome.tenant}: {kind}: {error_text(outcome.error)}")
    if result.label_error is not None:
        why = error_text(result.label_error)
        messages.warning(request, f"The line properties were not written on the image: {why}")


@login_required
@require_POST
def line_subscribers(request: AuthedRequest, team_slug: str, slug: str) -> HttpResponse:
    membership = team_for(request, team_slug)
    found = _line_for(membership, slug)
    form = SubscriberForm(request.POST, team=found.team)
    if not form.is_valid():
        _form_errors(request, form)
        return _to_line(found)
    data = form.cleaned_data
    for tenant in data["tenants"]:
        try:
            if services.share_route(membership) == services.ShareRoute.DIRECT:
                _subscribe(request, found, tenant, data)
            else:
                _subscribe_request(request, membership, found, tenant, data)
        except (ApplicationError, CloudError) as error:
            messages.error(request, f"{tenant}: {error_message(error)}")
    return _to_line(found)


def _subscribe(request: AuthedRequest, found: Line, tenant: str, data: dict) -> None:
    outcomes = services.subscriber_add(
        line=found, actor=request.user, tenant=tenant, until=data["expires_at"],
        note=data["note"],
    )  # fmt: skip
    failed = [o for o in outcomes if o.error is not None]
    messages.success(
        request, f"{tenant} subscribed; {len(outcomes) - len(failed)} version(s) shared."
    )
    for outcome in failed:
        assert outcome.error is not None
        messages.warning(request, f"{tenant}: {error_text(outcome.error)}")


def _subscribe_request(
    request: AuthedRequest, membership: Membership, found: Line, tenant: str, data: dict
) -> None:
    if not data["note"]:
        raise ApplicationError("Say why in the note: an admin decides on the subscription.")
    made = services.line_subscription_request(
        line=found, tenant=tenant, justification=data["note"], until=data["expires_at"],
        requested_by=request.user,
    )  # fmt: skip
    messages.info(request, f"{tenant}: request #{made.pk} waits for an admin's decision.")


@login_required
@require_POST
def line_subscriber_remove(
    request: AuthedRequest, team_slug: str, slug: str, tenant: str
) -> HttpResponse:
    found = _line_for(team_for(request, team_slug, role=Role.ADMIN), slug)
    form = SubscriberRemoveForm(request.POST)
    valid = form.is_valid()
    revoke = bool(valid and form.cleaned_data["revoke"])
    note = str(form.cleaned_data["note"]) if valid else ""
    try:
        results = services.subscriber_remove(
            line=found, actor=request.user, tenant=tenant, revoke=revoke, note=note
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return _to_line(found)
    failed = [r for r in results if r.error is not None]
    said = f"; {len(results) - len(failed)} version(s) revoked" if revoke else ""
    messages.success(request, f"{tenant} gets no future versions{said}.")
    for result in failed:
        assert result.error is not None
        messages.warning(request, f"Version {result.version}: {error_text(result.error)}")
    return _to_line(found)


@login_required
@require_POST
def line_channel(request: AuthedRequest, team_slug: str, slug: str, name: str) -> HttpResponse:
    found = _line_for(team_for(request, team_slug, role=Role.ADMIN), slug)
    form = ChannelForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _to_line(found)
    try:
        channel = services.channel_move(
            line=found, actor=request.user, name=name, **form.cleaned_data
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{name} now points at version {channel.version.number}.")
    return _to_line(found)


@login_required
@require_POST
def line_version_deprecate(
    request: AuthedRequest, team_slug: str, slug: str, image_id: str
) -> HttpResponse:
    found = _line_for(team_for(request, team_slug, role=Role.ADMIN), slug)
    version = get_object_or_404(found.versions, image_id=image_id)
    form = DeprecateForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _to_line(found)
    data = form.cleaned_data
    try:
        error = services.version_deprecate(
            version=version, actor=request.user, replacement_image_id=data["replacement"],
            revoke_on=data["revoke_on"], note=data["note"],
        )  # fmt: skip
    except ApplicationError as refused:
        messages.error(request, refused.message)
        return _to_line(found)
    messages.success(request, f"Version {version.number} deprecated; subscribers are told.")
    if error is not None:
        messages.warning(request, f"The image's properties were not updated: {error_text(error)}")
    return _to_line(found)


@login_required
@require_POST
def line_version_restore(
    request: AuthedRequest, team_slug: str, slug: str, image_id: str
) -> HttpResponse:
    found = _line_for(team_for(request, team_slug, role=Role.ADMIN), slug)
    version = get_object_or_404(found.versions, image_id=image_id)
    try:
        error = services.version_restore(version=version, actor=request.user)
    except ApplicationError as refused:
        messages.error(request, refused.message)
        return _to_line(found)
    messages.success(request, f"Version {version.number} is active again.")
    if error is not None:
        messages.warning(request, f"The image's properties were not updated: {error_text(error)}")
    return _to_line(found)


# The public request link, for one line: an outside requester asks for a subscription


@ratelimit(key="ip", rate=_per_address, method="POST", block=False)
@ratelimit(key=lambda group, request: request.path, rate=_per_link, method="POST", block=False)
def outside_line_request(request: HttpRequest, token: str, slug: str) -> HttpResponse:
    team = _link_team(token)
    found = get_object_or_404(Line, team=team, slug=slug)
    form = OutsideLineRequestForm(request.POST or None, team=team)
    context = {"link_team": team, "line": found, "form": form}
    if request.method == "POST" and getattr(request, "limited", False):
        return render(
            request, "lines/outside_request.html", {**context, "limited": True}, status=429
        )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.line_subscription_request(
                line=found, tenant=data["tenant"], justification=data["justification"],
                until=data["expires_at"], requester_name=data["name"],
                requester_email=data["email"], via_link=True,
            )  # fmt: skip
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            notifications.outside_confirmation(created)
            return redirect("outside_status", status_token=created.status_token)
    return render(request, "lines/outside_request.html", context)
