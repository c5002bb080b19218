import csv

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from sharing import selectors, services
from sharing.access import team_for
from sharing.cloud import CloudError
from sharing.cloud.errors import NotFound
from sharing.clouds import client_for
from sharing.forms import HistoryFilterForm, ImageFilterForm, NoteForm, ShareForm
from sharing.models import ApprovalPolicy, Membership, Role, Team
from sharing.services import ApplicationError, ImageIsPrivate, error_text

IMAGES_PAGE_SIZE = 25


@require_GET
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """To the chosen team (the switcher sends `?team=`), else the user's first team."""
    memberships = Membership.objects.filter(user=request.user).select_related("team")
    membership = (
        memberships.filter(team__slug=request.GET.get("team", "")).first() or memberships.first()
    )
    if membership is None:
        return render(request, "sharing/no_team.html")
    return redirect("images", team=membership.team.slug)


def _region(request: HttpRequest, team: Team) -> str:
    return team.region_or_default(request.GET.get("region"))


def _to_image(team: Team, region: str, image_id: str) -> HttpResponse:
    url = reverse("image", args=[team.slug, image_id])
    return redirect(f"{url}?region={region}")


def _cloud_error(request: HttpRequest, error: CloudError) -> None:
    messages.error(request, error_text(error))


# Own images


@login_required
@require_GET
def images(request: HttpRequest, team: str) -> HttpResponse:
    team = team_for(request, team)
    region = _region(request, team)
    form = ImageFilterForm(request.GET)
    page, counts, error = None, {}, None
    try:
        page = client_for(team, region).list_images(
            owner=team.tenant_id,
            limit=IMAGES_PAGE_SIZE,
            marker=request.GET.get("marker") or None,
            **form.upstream_filters(),
        )
        counts = selectors.share_counts(
            team=team, region=region, image_ids=[i.id for i in page.items]
        )
    except CloudError as exc:
        error = error_text(exc)
    rows = [(image, counts.get(image.id, {})) for image in page.items] if page else []
    context = {"form": form, "page": page, "rows": rows, "error": error}
    return render(request, "sharing/images.html", context)


def _image_page(
    request: HttpRequest, team: Team, region: str, image_id: str, form: ShareForm | None = None
) -> HttpResponse:
    try:
        client = client_for(team, region)
        image = client.get_image(image_id)
        members, no_members_reason = selectors.image_members(
            client=client, team=team, region=region, image=image
        )
    except NotFound:
        messages.error(request, f"There is no image {image_id} in {region} that this team can see.")
        return redirect(reverse("images", args=[team.slug]) + f"?region={region}")
    except CloudError as exc:
        return render(
            request, "sharing/image.html", {"image_id": image_id, "error": error_text(exc)}
        )
    context = {
        "image": image,
        "image_id": image_id,
        "members": members,
        "no_members_reason": no_members_reason,
        "member_limit": settings.CLOUD_MEMBER_LIMIT,
        "form": form or ShareForm(team=team),
        "history": selectors.history_entries(team=team, filters={"image": image_id})[:20],
    }
    return render(request, "sharing/image.html", context)


@login_required
@require_GET
def image(request: HttpRequest, team: str, image_id: str) -> HttpResponse:
    team = team_for(request, team)
    return _image_page(request, team, _region(request, team), image_id)


@login_required
@require_POST
def image_share(request: HttpRequest, team: str, image_id: str) -> HttpResponse:
    team = team_for(request, team, role=Role.MEMBER)
    region = _region(request, team)
    if not _can_share_directly(request.membership, team):
        messages.info(request, "Your team's policy needs an admin's approval: ask for access.")
        return redirect(reverse("requests", args=[team.slug]))
    form = ShareForm(request.POST, team=team)
    if not form.is_valid():
        return _image_page(request, team, region, image_id, form=form)
    try:
        outcomes = services.image_share(
            team=team,
            actor=request.user,
            region=region,
            image_id=image_id,
            tenants=form.cleaned_data["members"],
            expires_at=form.cleaned_data["expires_at"],
            note=form.cleaned_data["note"],
            make_shared=request.POST.get("make_shared") == "1",
        )
    except ImageIsPrivate as exc:
        return render(request, "sharing/make_shared.html", {"image": exc.image, "form": form})
    except CloudError as exc:
        _cloud_error(request, exc)
        return _image_page(request, team, region, image_id, form=form)
    _report_share(request, outcomes)
    return _to_image(team, region, image_id)


def _can_share_directly(membership: Membership, team: Team) -> bool:
    return membership.has_role(Role.ADMIN) and team.approval_policy == ApprovalPolicy.MEMBERS


def _report_share(request: HttpRequest, outcomes: list[services.ShareOutcome]) -> None:
    created = [o.tenant for o in outcomes if o.created]
    already = [
        f"{o.tenant} ({o.status})" for o in outcomes if o.outcome == "succeeded" and not o.created
    ]
    if created:
        messages.success(request, f"Shared with {', '.join(created)}: pending until they accept.")
    if already:
        messages.info(request, f"Already shared with {', '.join(already)}.")
    for failed in (o for o in outcomes if o.outcome != "succeeded"):
        level = messages.WARNING if failed.outcome == "unknown" else messages.ERROR
        messages.add_message(request, level, f"Not shared with {failed.tenant}: {failed.message}")


@login_required
@require_POST
def member_revoke(request: HttpRequest, team: str, image_id: str, member_id: str) -> HttpResponse:
    team = team_for(request, team, role=Role.ADMIN)
    region = _region(request, team)
    form = NoteForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        services.share_revoke(
            team=team,
            actor=request.user,
            region=region,
            image_id=image_id,
            tenant=member_id,
            note=note,
        )
    except NotFound:
        messages.warning(request, f"{member_id} was not a member of this image any more.")
    except CloudError as exc:
        _cloud_error(request, exc)
    else:
        messages.success(request, f"Revoked: {member_id} can no longer use this image.")
    return _to_image(team, region, image_id)


# Incoming shares


@login_required
@require_GET
def incoming(request: HttpRequest, team: str) -> HttpResponse:
    team = team_for(request, team)
    region = _region(request, team)
    rows, error = [], None
    try:
        rows = selectors.incoming_images(client=client_for(team, region))
    except CloudError as exc:
        error = error_text(exc)
    return render(request, "sharing/incoming.html", {"rows": rows, "error": error})


INCOMING_STATUS = {"accept": "accepted", "reject": "rejected", "pending": "pending"}


@login_required
@require_POST
def incoming_set(request: HttpRequest, team: str, image_id: str, decision: str) -> HttpResponse:
    team = team_for(request, team, role=Role.ADMIN)
    region = _region(request, team)
    status = INCOMING_STATUS[decision]
    try:
        services.incoming_set_status(
            team=team, actor=request.user, region=region, image_id=image_id, status=status
        )
    except (CloudError, ApplicationError) as exc:
        messages.error(request, error_text(exc) if isinstance(exc, CloudError) else exc.message)
    else:
        messages.success(request, f"Image {image_id} is now {status} for this team.")
    return redirect(reverse("incoming", args=[team.slug]) + f"?region={region}")


# History


@login_required
@require_GET
def history(request: HttpRequest, team: str) -> HttpResponse:
    team = team_for(request, team)
    form = HistoryFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    entries = selectors.history_entries(team=team, filters=filters)
    before = request.GET.get("before")
    page, next_before = selectors.history_page(
        entries, before=int(before) if before and before.isdigit() else None
    )
    context = {
        "form": form,
        "entries": page,
        "next_before": next_before,
        "chart": selectors.activity_chart(team=team),
    }
    return render(request, "sharing/history.html", context)


CSV_COLUMNS = [
    "id", "created_at", "actor_name", "action", "region", "image_id", "image_name", "tenant",
    "note", "outcome", "http_status", "request_id", "message", "completed_at",
]  # fmt: skip


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: object) -> object:
    """Defuse spreadsheet formulas: names and notes come from outside (OWASP CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@login_required
@require_GET
def history_csv(request: HttpRequest, team: str) -> StreamingHttpResponse:
    team = team_for(request, team)
    form = HistoryFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    rows = selectors.history_entries(team=team, filters=filters).values_list(*CSV_COLUMNS)
    writer = csv.writer(_Echo())

    def stream():
        yield writer.writerow(CSV_COLUMNS)
        for row in rows.iterator(chunk_size=2000):
            yield writer.writerow([_cell(value) for value in row])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{team.slug}-history.csv"'
    return response


# Not built yet


def _not_built(request: HttpRequest, team: str, title: str) -> HttpResponse:
    team_for(request, team)
    return render(request, "sharing/not_built.html", {"title": title})


@login_required
def requests(request: HttpRequest, team: str) -> HttpResponse:
    return _not_built(request, team, "Access requests")


@login_required
def partners(request: HttpRequest, team: str) -> HttpResponse:
    return _not_built(request, team, "Partners")
