import csv
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.core.validators import slug_re
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_ratelimit.decorators import ratelimit

from sharing import notifications, selectors, services
from sharing.access import AuthedRequest, team_for
from sharing.cloud import CloudError, NotFound, UnknownOutcome
from sharing.forms import (
    AccessRequestForm,
    ApproveForm,
    HistoryFilterForm,
    ImageFilterForm,
    LinkImagesForm,
    NoteForm,
    OutsideRequestForm,
    PartnerForm,
    RejectForm,
    ShareForm,
    TeamSettingsForm,
    whole_number,
)
from sharing.models import AccessRequest, Membership, Outcome, Partner, RequestStatus, Role, Team
from sharing.selectors_incoming import incoming_grouped
from sharing.services import ApplicationError, ImageIsPrivate, JustificationNeeded
from sharing.wording import error_message, error_text


@require_GET
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on pages that name no icon (the API's docs, JSON)."""
    return redirect(static("sharing/favicon.svg"), permanent=True)


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    """To the chosen team (the switcher sends `?team=`), else the user's first team."""
    memberships = Membership.objects.filter(user=request.user).select_related("team")
    chosen = request.GET.get("team", "")
    membership = (
        slug_re.match(chosen) and memberships.filter(team__slug=chosen).first()
    ) or memberships.first()
    if membership is None:
        return render(request, "sharing/no_team.html")
    if not membership.has_role(Role.VIEWER):
        return redirect("history", team_slug=membership.team.slug)  # auditors read the history
    return redirect("images", team_slug=membership.team.slug)


def _region(request: HttpRequest, team: Team) -> str:
    return team.region_or_default(request.GET.get("region"))


def _to_image(team: Team, region: str, image_id: str) -> HttpResponse:
    url = reverse("image", args=[team.slug, image_id])
    return redirect(f"{url}?region={region}")


# Own images


@login_required
@require_GET
def images(request: AuthedRequest, team_slug: str) -> HttpResponse:
    team = team_for(request, team_slug).team
    form = ImageFilterForm(request.GET)
    found = selectors.images_page(
        team=team,
        region=_region(request, team),
        marker=request.GET.get("marker") or None,
        filters=form.upstream_filters(),
        sort=request.GET.get("sort", ""),
    )
    error = error_text(found.error) if found.error else None
    context = {
        "form": form, "page": found.page, "rows": found.rows, "error": error,
        "stale": found.stale, "synced_at": found.synced_at, "sort": request.GET.get("sort", ""),
    }  # fmt: skip
    return render(request, "sharing/images.html", context)


def _image_page(
    request: AuthedRequest,
    membership: Membership,
    region: str,
    image_id: str,
    form: ShareForm | None = None,
) -> HttpResponse:
    team = membership.team
    page = request.GET.get("page", "1")
    try:
        detail = selectors.image_detail(
            team=team, region=region, image_id=image_id,
            tenant_filter=request.GET.get("tenant", ""), sort=request.GET.get("sort", ""),
            page=whole_number(page) or 1,
        )  # fmt: skip
    except NotFound:
        messages.error(request, f"There is no image {image_id} in {region} that this team can see.")
        return redirect(reverse("images", args=[team.slug]) + f"?region={region}")
    context = {
        "image": detail.image,
        "image_id": image_id,
        "detail": detail,
        "error": error_text(detail.error) if detail.error else None,
        "members": detail.members_page,
        "no_members_reason": detail.no_members_reason,
        "member_limit": settings.CLOUD_MEMBER_LIMIT,
        "at_limit": detail.member_count >= settings.CLOUD_MEMBER_LIMIT,
        "form": form or ShareForm(team=team),
        "can_share_directly": services.share_route(membership) == services.ShareRoute.DIRECT,
        "history": selectors.image_history(team=team, image_id=image_id),
    }
    return render(request, "sharing/image.html", context)


@login_required
@require_GET
def image(request: AuthedRequest, team_slug: str, image_id: str) -> HttpResponse:
    membership = team_for(request, team_slug)
    return _image_page(request, membership, _region(request, membership.team), image_id)


@login_required
@require_POST
def image_share(request: AuthedRequest, team_slug: str, image_id: str) -> HttpResponse:
    """Share, or file access requests where the team's policy needs an approval: the
    service decides, as it does for the API."""
    membership = team_for(request, team_slug, role=Role.MEMBER)
    team, region = membership.team, _region(request, membership.team)
    form = ShareForm(request.POST, team=team)
    if not form.is_valid():
        if not membership.has_role(Role.ADMIN):  # the share form is the admins'
            return _to_request_form(request, team, region, image_id)
        return _image_page(request, membership, region, image_id, form=form)
    data = form.cleaned_data
    try:
        result = services.share_or_request(
            membership=membership, region=region, image_id=image_id, tenants=data["tenants"],
            expires_at=data["expires_at"], note=data["note"], make_shared=data["make_shared"],
        )  # fmt: skip
    except JustificationNeeded:
        return _to_request_form(request, team, region, image_id)
    except ImageIsPrivate as exc:
        return render(request, "sharing/make_shared.html", {"image": exc.image, "form": form})
    except CloudError as exc:
        messages.error(request, error_text(exc))
        return _image_page(request, membership, region, image_id, form=form)
    if isinstance(result, services.RequestsFiled):
        _report_requests(request, result)
    else:
        _report_share(request, team, result.outcomes)
    return _to_image(team, region, image_id)


def _to_request_form(
    request: AuthedRequest, team: Team, region: str, image_id: str
) -> HttpResponse:
    """A member's share without a why: the request form, prefilled, asks for it."""
    messages.info(request, "Your team's policy needs an admin's approval: ask for access.")
    initial = {"image_id": image_id, "member": request.POST.get("members", "").strip()}
    initial["justification"] = request.POST.get("note", "")
    url = reverse("request_new", args=[team.slug])
    return redirect(f"{url}?region={region}&{urlencode(initial)}")


def _report_requests(request: AuthedRequest, filed: services.RequestsFiled) -> None:
    who = "another admin" if filed.route == services.ShareRoute.FOUR_EYES else "an admin"
    for tenant, result in filed.made:
        if isinstance(result, AccessRequest):
            messages.info(request, f"{tenant}: request #{result.pk} waits for {who}.")
        else:
            messages.error(request, f"{tenant}: {error_message(result)}")


def _report_share(
    request: AuthedRequest, team: Team, outcomes: list[services.ShareOutcome]
) -> None:
    names = dict(team.partners.values_list("tenant", "name"))

    def label(tenant: str) -> str:  # "Globex 100002" when picked from the directory
        return f"{names[tenant]} {tenant}" if tenant in names else tenant

    created = [label(o.tenant) for o in outcomes if o.created]
    already = [
        f"{label(o.tenant)} ({o.status})"
        for o in outcomes
        if o.outcome == Outcome.SUCCEEDED and not o.created
    ]
    if created:
        messages.success(request, f"Shared with {', '.join(created)}: pending until they accept.")
    if already:
        messages.info(request, f"Already shared with {', '.join(already)}.")
    for outcome in outcomes:
        if outcome.error is None:
            continue
        why = error_text(outcome.error)
        if outcome.outcome == Outcome.UNKNOWN:
            messages.warning(
                request, f"Sharing with {label(outcome.tenant)} could not be confirmed yet: {why}"
            )
        else:
            messages.error(request, f"Not shared with {label(outcome.tenant)}: {why}")


@login_required
@require_POST
def member_revoke(
    request: AuthedRequest, team_slug: str, image_id: str, tenant: str
) -> HttpResponse:
    team = team_for(request, team_slug, role=Role.ADMIN).team
    region = _region(request, team)
    form = NoteForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        services.share_revoke(
            team=team,
            actor=request.user,
            region=region,
            image_id=image_id,
            tenant=tenant,
            note=note,
        )
    except NotFound:
        messages.warning(request, f"{tenant} was not a member of this image any more.")
    except UnknownOutcome as exc:
        messages.warning(
            request, f"Revoking {tenant} could not be confirmed yet: {error_text(exc)}"
        )
    except CloudError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, f"Revoked: {tenant} can no longer use this image.")
    return _to_image(team, region, image_id)


# Incoming shares


@login_required
@require_GET
def incoming(request: AuthedRequest, team_slug: str) -> HttpResponse:
    team = team_for(request, team_slug).team
    region = _region(request, team)
    rows, error = [], None
    try:
        rows = selectors.incoming_images(team=team, region=region)
    except CloudError as exc:
        error = error_text(exc)
    lines, plain = incoming_grouped(rows)
    context = {"lines": lines, "rows": plain, "error": error}
    return render(request, "sharing/incoming.html", context)


INCOMING_STATUS = {"accept": "accepted", "reject": "rejected", "pending": "pending"}


@login_required
@require_POST
def incoming_set(
    request: AuthedRequest, team_slug: str, image_id: str, decision: str
) -> HttpResponse:
    team = team_for(request, team_slug, role=Role.ADMIN).team
    region = _region(request, team)
    status = INCOMING_STATUS[decision]
    try:
        image, _ = services.incoming_set_status(
            team=team, actor=request.user, region=region, image_id=image_id, status=status
        )
    except CloudError as exc:
        messages.error(request, error_text(exc))
    else:
        # The name comes from another account's cloud: isolated, like on every page.
        name = format_html("“<bdi>{}</bdi>”", image.name or image_id)
        messages.success(request, format_html("{} is now {} for this team.", name, status))
    return redirect(reverse("incoming", args=[team.slug]) + f"?region={region}")


# History


@login_required
@require_GET
def history(request: AuthedRequest, team_slug: str) -> HttpResponse:
    team = team_for(request, team_slug, role=Role.AUDITOR).team
    form = HistoryFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    entries = selectors.history_entries(team=team, filters=filters)
    before = whole_number(request.GET.get("before"))
    page, next_before = selectors.history_page(entries, before=before)
    context = {
        "form": form,
        "entries": page,
        "next_before": next_before,
        # The chart tops the first page only: deeper pages are for reading entries.
        "chart": selectors.activity_chart(team=team) if before is None else None,
    }
    return render(request, "sharing/history.html", context)


CSV_COLUMNS = [
    "id", "created_at", "actor_name", "action", "region", "image_id", "image_name", "tenant",
    "note", "outcome", "http_status", "request_id", "message", "completed_at", "channel",
]  # fmt: skip


CSV_BATCH = 1000


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: object) -> object:
    """Defuse spreadsheet formulas: names and notes come from outside (OWASP CSV injection).
    Spreadsheets skip leading whitespace before a formula, so " =1+1" is one too."""
    if isinstance(value, str) and (
        value[:1] in ("=", "+", "-", "@", "\t", "\r") or value.lstrip()[:1] in ("=", "+", "-", "@")
    ):
        return "'" + value
    return value


@login_required
@require_GET
def history_csv(request: AuthedRequest, team_slug: str) -> StreamingHttpResponse:
    team = team_for(request, team_slug, role=Role.AUDITOR).team
    form = HistoryFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    links, head = services.history_export_record(
        team=team, actor=request.user, what="CSV", filters=filters
    )
    rows = selectors.history_entries(team=team, filters=filters).values_list(*CSV_COLUMNS)
    writer = csv.writer(_Echo())

    def stream():
        yield writer.writerow(CSV_COLUMNS)
        # One chunk per thousand rows: a chunk per row costs a write each behind a real server.
        batch = []
        for row in rows.iterator(chunk_size=CSV_BATCH):
            batch.append(writer.writerow([_cell(value) for value in row]))
            if len(batch) == CSV_BATCH:
                yield "".join(batch)
                batch = []
        yield "".join(batch)
        # The head it was cut at: verify_ledger tells whether the chain still holds it.
        yield writer.writerow(["# ledger head", links, head])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{team.slug}-history.csv"'
    response["Ledger-Head"] = f"{links} {head}"
    return response


# Access requests


def _access_request(team: Team, pk: int) -> AccessRequest:
    return get_object_or_404(AccessRequest.objects.select_related("team"), team=team, pk=pk)


@login_required
@require_GET
def requests(request: AuthedRequest, team_slug: str) -> HttpResponse:
    team = team_for(request, team_slug).team
    status = request.GET.get("status", "open")
    listed = selectors.access_requests(team=team, status=status)
    page = Paginator(listed, selectors.REQUESTS_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "status": status, "statuses": RequestStatus.choices}
    return render(request, "sharing/requests.html", context)


@login_required
def request_new(request: AuthedRequest, team_slug: str) -> HttpResponse:
    team = team_for(request, team_slug).team
    region = _region(request, team)
    images = selectors.team_images(team=team, region=region)
    if request.method == "POST":
        form = AccessRequestForm(request.POST, team=team, images=images)
        if form.is_valid():
            try:
                created = services.access_request_create(
                    team=team,
                    region=region,
                    image_id=form.cleaned_data["image_id"],
                    tenant=form.cleaned_data["tenant"],
                    justification=form.cleaned_data["justification"],
                    share_until=form.cleaned_data["expires_at"],
                    requested_by=request.user,
                )
            except NotFound:
                form.add_error("image_id", f"There is no image with this ID in {region}.")
            except (ApplicationError, CloudError) as exc:
                form.add_error(None, error_message(exc))
            else:
                messages.success(request, f"Request #{created.pk} sent to the team's admins.")
                return redirect("request", team_slug=team.slug, pk=created.pk)
    else:
        form = AccessRequestForm(initial=request.GET.dict(), team=team, images=images)
    context = {"form": form, "images": images}
    return render(request, "sharing/request_new.html", context)


@login_required
@require_GET
def access_request(request: AuthedRequest, team_slug: str, pk: int) -> HttpResponse:
    membership = team_for(request, team_slug)
    found = _access_request(membership.team, pk)
    return _request_page(request, membership, found, RejectForm())


def _request_page(
    request: AuthedRequest, membership: Membership, found: AccessRequest, reject_form: RejectForm
) -> HttpResponse:
    context = {
        "access_request": found,
        "timeline": found.entries.order_by("id"),
        "can_decide": membership.has_role(Role.ADMIN)
        and services.access_request_can_decide(found, request.user),
        "reject_form": reject_form,
    }
    return render(request, "sharing/request.html", context)


def _after_decision(request: AuthedRequest, team: Team, pk: int) -> HttpResponse:
    """Back to the queue when decided there (Approve/Reject inline), else to the request."""
    if request.POST.get("next") == "queue":
        return redirect("requests", team_slug=team.slug)
    return redirect("request", team_slug=team.slug, pk=pk)


@login_required
@require_POST
def request_approve(request: AuthedRequest, team_slug: str, pk: int) -> HttpResponse:
    team = team_for(request, team_slug, role=Role.ADMIN).team
    found = _access_request(team, pk)
    form = ApproveForm(request.POST)
    form.is_valid()  # both fields are optional and bounded: what is invalid is dropped
    note = form.cleaned_data.get("note", "")
    try:
        decided = services.access_request_approve(
            access_request=found,
            actor=request.user,
            note=note,
            make_shared=form.cleaned_data.get("make_shared", False),
        )
    except ImageIsPrivate as exc:
        context = {"image": exc.image, "access_request": found, "note": note}
        return render(request, "sharing/approve_private.html", context)
    except (ApplicationError, CloudError) as exc:
        messages.error(request, error_message(exc))
    else:
        if decided.status == RequestStatus.FAILED:
            messages.error(request, f"Approved, but the share failed: {decided.failure}")
        else:
            partner = team.partners.filter(tenant=decided.tenant).first()
            tenant = f"{partner.name} {decided.tenant}" if partner else decided.tenant
            if decided.line is not None:
                messages.success(
                    request, f"Approved: {tenant} subscribes to line {decided.line.slug}."
                )
            else:
                messages.success(request, f"Approved: the image is shared with {tenant}.")
    return _after_decision(request, team, pk)


@login_required
@require_POST
def request_reject(request: AuthedRequest, team_slug: str, pk: int) -> HttpResponse:
    membership = team_for(request, team_slug, role=Role.ADMIN)
    team = membership.team
    found = _access_request(team, pk)
    form = RejectForm(request.POST)
    if not form.is_valid():
        return _request_page(request, membership, found, form)
    try:
        services.access_request_reject(
            access_request=found, actor=request.user, note=form.cleaned_data["note"]
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Request #{pk} rejected; the requester is told why.")
    return _after_decision(request, team, pk)


@login_required
@require_POST
def request_cancel(request: AuthedRequest, team_slug: str, pk: int) -> HttpResponse:
    team = team_for(request, team_slug).team
    found = _access_request(team, pk)
    try:
        services.access_request_cancel(access_request=found, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Request #{pk} cancelled.")
    return redirect("request", team_slug=team.slug, pk=pk)


# Partners


@login_required
def partners(request: AuthedRequest, team_slug: str) -> HttpResponse:
    team = team_for(request, team_slug).team
    form = PartnerForm(team=team)
    if request.method == "POST":
        team = team_for(request, team_slug, role=Role.ADMIN).team
        form = PartnerForm(request.POST, team=team)
        if form.is_valid():
            try:
                partner = services.partner_create(
                    team=team, actor=request.user, name=form.cleaned_data["name"],
                    tenant=form.cleaned_data["tenant"], notes=form.cleaned_data["notes"],
                )  # fmt: skip
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                added = f"{partner.name} ({partner.tenant}) added to the directory."
                messages.success(request, added)
                return redirect("partners", team_slug=team.slug)
    listed = team.partners.select_related("added_by")
    return render(request, "sharing/partners.html", {"partners": listed, "form": form})


@login_required
@require_POST
def partner_delete(request: AuthedRequest, team_slug: str, pk: int) -> HttpResponse:
    team = team_for(request, team_slug, role=Role.ADMIN).team
    partner = get_object_or_404(Partner, team=team, pk=pk)
    services.partner_delete(partner=partner)
    messages.success(request, f"{partner.name} removed from the directory; its shares stay.")
    return redirect("partners", team_slug=team.slug)


# Team settings and the request link


@login_required
def team_settings(request: AuthedRequest, team_slug: str) -> HttpResponse:
    team = team_for(request, team_slug, role=Role.ADMIN).team
    form = TeamSettingsForm(request.POST or None, instance=team)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.team_settings_update(
                team=team, approval_policy=data["approval_policy"],
                max_share_days=data["max_share_days"],
                request_expiry_days=data["request_expiry_days"],
                reminder_days=data["reminder_days"], time_zone=data["time_zone"],
                second_factor_required=data["second_factor_required"],
            )  # fmt: skip
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Team settings saved.")
            return redirect("team_settings", team_slug=team.slug)
    # The request link offers images of the team's default region.
    images = selectors.team_images(team=team, region=team.default_region)
    link_form = LinkImagesForm(
        initial={"images": team.request_link_images}, choices=_image_choices(images)
    )
    link = absolute_link(request, team)
    context = {"form": form, "link_form": link_form, "link": link, "images": images}
    context["time_zones"] = TIME_ZONE_SUGGESTIONS
    return render(request, "sharing/settings.html", context)


# Offered while typing; any IANA name is accepted.
TIME_ZONE_SUGGESTIONS = [
    "UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Amsterdam", "Europe/Madrid",
    "Europe/Warsaw", "America/New_York", "America/Chicago", "America/Denver",
    "America/Los_Angeles", "America/Sao_Paulo", "Asia/Tokyo", "Asia/Singapore", "Asia/Kolkata",
    "Australia/Sydney",
]  # fmt: skip


def _image_choices(images: list) -> list[tuple[str, str]]:
    return [(image.id, f"{image.name or image.id} ({image.id[:8]})") for image in images]


def absolute_link(request: HttpRequest, team: Team) -> str:
    if not team.request_link_token:
        return ""
    return request.build_absolute_uri(reverse("outside_request", args=[team.request_link_token]))


@login_required
@require_POST
def link_rotate(request: AuthedRequest, team_slug: str) -> HttpResponse:
    team = team_for(request, team_slug, role=Role.ADMIN).team
    services.request_link_rotate(team=team)
    messages.success(request, "A new request link is on; any earlier link no longer works.")
    return redirect("team_settings", team_slug=team.slug)


@login_required
@require_POST
def link_revoke(request: AuthedRequest, team_slug: str) -> HttpResponse:
    team = team_for(request, team_slug, role=Role.ADMIN).team
    services.request_link_revoke(team=team)
    messages.success(request, "The request link is off.")
    return redirect("team_settings", team_slug=team.slug)


@login_required
@require_POST
def link_images(request: AuthedRequest, team_slug: str) -> HttpResponse:
    team = team_for(request, team_slug, role=Role.ADMIN).team
    images = selectors.team_images(team=team, region=team.default_region)
    form = LinkImagesForm(request.POST, choices=_image_choices(images))
    if form.is_valid():
        services.request_link_images_set(team=team, images=form.cleaned_data["images"])
        messages.success(request, f"{len(team.request_link_images)} image(s) may be requested.")
    else:
        messages.error(request, "Pick images from the list.")
    return redirect("team_settings", team_slug=team.slug)


# The public request link


def _link_team(token: str) -> Team:
    if not token:
        raise Http404
    return get_object_or_404(Team, request_link_token=token)


def _per_address(group: str, request: HttpRequest) -> str:
    return settings.OUTSIDE_REQUEST_RATE_PER_ADDRESS


def _per_link(group: str, request: HttpRequest) -> str:
    return settings.OUTSIDE_REQUEST_RATE_PER_LINK


@ratelimit(key="ip", rate=_per_address, method="POST", block=False)
@ratelimit(key=lambda group, request: request.path, rate=_per_link, method="POST", block=False)
def outside_request(request: HttpRequest, token: str) -> HttpResponse:
    team = _link_team(token)
    images = selectors.link_images(team=team)
    form = OutsideRequestForm(request.POST or None, team=team, images=images)
    if request.method == "POST":
        if getattr(request, "limited", False):
            context = {"link_team": team, "form": form, "limited": True}
            return render(request, "sharing/outside_request.html", context, status=429)
        if form.is_valid():
            try:
                created = services.access_request_create(
                    team=team,
                    region=team.default_region,
                    image_id=form.cleaned_data["image_id"],
                    tenant=form.cleaned_data["tenant"],
                    justification=form.cleaned_data["justification"],
                    share_until=form.cleaned_data["expires_at"],
                    requester_name=form.cleaned_data["name"],
                    requester_email=form.cleaned_data["email"],
                    via_link=True,
                )
            except (ApplicationError, CloudError) as exc:
                form.add_error(None, error_message(exc))
            else:
                notifications.outside_confirmation(created)
                return redirect("outside_status", status_token=created.status_token)
    return render(request, "sharing/outside_request.html", {"link_team": team, "form": form})


def outside_status(request: HttpRequest, status_token: str) -> HttpResponse:
    found = get_object_or_404(
        AccessRequest.objects.select_related("team"), status_token=status_token
    )
    return render(request, "sharing/outside_status.html", {"access_request": found})
