from datetime import UTC, datetime

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def when(moment: datetime | None, empty: str = "—"):
    """A time shown in the viewer's time zone by app.js, with the exact UTC time on hover."""
    if not moment:  # None, or '' for a missing variable in the template
        return empty
    utc = moment.astimezone(UTC)
    return format_html(
        '<time datetime="{}" data-local title="{} UTC">{} UTC</time>',
        utc.isoformat(),
        utc.strftime("%Y-%m-%d %H:%M:%S"),
        utc.strftime("%Y-%m-%d %H:%M"),
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
    if tenant_id in names:
        return format_html('{} <span class="mono muted">{}</span>', names[tenant_id], tenant_id)
    return format_html('<span class="mono">{}</span>', tenant_id)


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
