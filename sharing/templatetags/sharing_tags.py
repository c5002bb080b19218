from datetime import UTC, datetime, timedelta

from django import template
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator, slugify

from sharing.models import Action, Channel, LedgerEntry, Outcome

register = template.Library()


@register.simple_tag
def when(moment: datetime | None, empty: str = "—"):
    """A time shown in the viewer's time zone by app.js, with the exact UTC time on hover."""
    if not moment:  # None, or '' for a missing variable in the template
        return empty
    utc = moment.astimezone(UTC)
    exact = utc.strftime("%Y-%m-%d %H:%M:%S")
    return format_html(
        '<time datetime="{}" data-local title="{} UTC">{} UTC</time>',
        utc.isoformat(),
        exact,
        exact[:16],  # to the minute
    )


@register.simple_tag(takes_context=True)
def until(context, moment: datetime | None, empty: str = "no end"):
    """The end of a share as the day that was picked ("until 1 Jan 2027"), in the team's time
    zone; the exact instant on hover. Not rewritten by app.js: the day is the team's."""
    if not moment:
        return empty
    team = context.get("team")
    if team is None:
        access_request = context.get("access_request")
        team = getattr(access_request, "team", None)
    zone = team.zone if team is not None else None
    local = moment.astimezone(zone) if zone else moment
    utc = moment.astimezone(UTC)
    return format_html(
        '<time datetime="{}" title="Ends {} {} ({} UTC)">until {}</time>',
        utc.isoformat(),
        local.strftime("%Y-%m-%d %H:%M:%S"),
        getattr(zone, "key", "UTC"),
        utc.strftime("%Y-%m-%d %H:%M:%S"),
        f"{local.day} {local:%b %Y}",
    )


@register.filter
def day_in(moment: datetime | None, team) -> str:
    """The day of `moment` in the team's time zone, as "1 Jan 2027" (for e-mails)."""
    if not moment:
        return ""
    local = moment.astimezone(team.zone)
    return f"{local.day} {local:%b %Y}"


@register.simple_tag
def age(moment: datetime | None) -> str:
    """How long ago, in plain words: "3 days ago", "5 hours ago", "just now"."""
    if not moment:
        return ""
    seconds = max(0, int((datetime.now(UTC) - moment).total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


@register.inclusion_tag("sharing/includes/badge.html")
def badge(value: str | None, label: str | None = None):
    return {"value": value or "unknown", "label": label or value or "unknown"}


@register.simple_tag(takes_context=True)
def query(context, **changes) -> str:
    """The current query string with some parameters changed (None or "" drops one)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        params.pop(key, None)
        if value not in (None, ""):
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else ""


@register.simple_tag(takes_context=True)
def tenant(context, tenant_id: str | None):
    """A tenant ID with its partner name from the team's directory, when it has one."""
    if not tenant_id:
        return ""
    request, team = context.get("request"), context.get("team")
    names = getattr(request, "_partner_names", None)
    if names is None:
        names = dict(team.partners.values_list("tenant", "name")) if team else {}
        if request is not None:
            request._partner_names = names
    # <bdi>: the name and the ID come from outside; either may hold right-to-left controls.
    if tenant_id in names:
        return format_html(
            '<bdi>{}</bdi> <bdi class="mono muted">{}</bdi>', names[tenant_id], tenant_id
        )
    return format_html('<bdi class="mono">{}</bdi>', tenant_id)


@register.simple_tag(takes_context=True)
def sort_header(context, key: str, label: str, css: str = ""):
    """A table header that sorts by `key` (again: the other way), with aria-sort."""
    current = context["request"].GET.get("sort", "")
    ascending = current == key
    descending = current == f"-{key}"
    target = f"-{key}" if ascending else key
    href = query(context, sort=target, marker=None, page=None)
    state = "ascending" if ascending else "descending" if descending else "none"
    arrow = " ↑" if ascending else " ↓" if descending else ""
    return format_html(
        '<th scope="col" class="{}" aria-sort="{}"><a href="{}">{}{}</a></th>',
        css, state, href, label, arrow,
    )  # fmt: skip


@register.filter
def minutes(duration: timedelta | None) -> int:
    """A duration in whole minutes, rounded up (a 90 s lock-out reads "2 minutes")."""
    return -(-int(duration.total_seconds()) // 60) if duration else 0


# A ledger row, written here rather than in includes/ledger_table.html: fifty rows of a dozen
# tags and filters each were most of the history page's server time (bench/README.md).
ACTION_LABELS, CHANNEL_LABELS = dict(Action.choices), dict(Channel.choices)


def _badge(value: str, label: str) -> SafeString:
    """The markup of `{% badge %}` (includes/badge.html)."""
    return format_html('<span class="badge badge-{}">{}</span>', slugify(value), label)


OUTCOME_BADGES = {value: _badge(value, label) for value, label in Outcome.choices}
UNRESOLVED_BADGE = _badge("unknown", "unresolved")


def _outcome_badge(outcome: str | None) -> SafeString:
    if not outcome:
        return UNRESOLVED_BADGE
    return OUTCOME_BADGES.get(outcome) or _badge(outcome, outcome)


@register.simple_tag(takes_context=True)
def ledger_row(context, entry: LedgerEntry) -> SafeString:
    """One row of the ledger table: when, who, action, image, tenant, outcome, details."""
    team = context.get("team")
    link = ""
    if entry.access_request_id and team:
        href = reverse("request", args=[team.slug, entry.access_request_id])
        link = format_html(' <a href="{}">#{}</a>', href, entry.access_request_id)
    return format_html(
        "<tr>\n"
        '      <td class="nowrap">{}</td>\n'
        '      <td><bdi>{}</bdi> <small class="muted">{}</small></td>\n'
        "      <td>{}{}</td>\n"
        "      <td>{}</td>\n"
        "      <td>{}</td>\n"
        "      <td>{}</td>\n"
        '      <td class="details"><small>{}</small></td>\n'
        "    </tr>",
        when(entry.created_at),
        entry.actor_name,
        CHANNEL_LABELS.get(entry.channel, entry.channel),
        ACTION_LABELS.get(entry.action, entry.action),
        link,
        _image_cell(entry),
        tenant(context, entry.tenant),
        _outcome_badge(entry.outcome),
        _details(entry),
    )


def _image_cell(entry: LedgerEntry) -> str:
    if not entry.image_id:
        return ""
    if entry.image_name:
        return format_html(
            '<span title="{}"><bdi>{}</bdi></span>', entry.image_id, entry.image_name
        )
    short = Truncator(entry.image_id).chars(9)
    return format_html('<span class="mono" title="{}">{}</span>', entry.image_id, short)


def _details(entry: LedgerEntry) -> str:
    """What the cloud said, the note, a later settlement, and the HTTP answer."""
    parts = []
    if entry.message:
        parts.append(format_html("<bdi>{}</bdi> ", entry.message))
    if entry.note:
        parts.append(format_html("<em><bdi>{}</bdi></em> ", entry.note))
    if entry.settlement:
        parts.append(
            format_html('<span class="settlement">Settled later: {}</span> ', entry.settlement)
        )
    status, request_id = entry.http_status, entry.request_id
    if entry.outcome == Outcome.SUCCEEDED:
        if status:  # the request ID on hover only
            title = format_html(' title="request {}"', request_id) if request_id else ""
            parts.append(format_html('<span class="muted"{}>HTTP {}</span>', title, status))
    elif status or request_id:
        code = f"HTTP {status}" if status else ""
        shown = format_html(' <span class="mono">{}</span>', request_id) if request_id else ""
        parts.append(format_html('<span class="muted">{}{}</span>', code, shown))
    return format_html_join("", "{}", ((part,) for part in parts))
