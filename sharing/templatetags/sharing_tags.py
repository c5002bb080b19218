from datetime import UTC, datetime, timedelta

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


@register.filter
def minutes(duration: timedelta | None) -> int:
    """A duration in whole minutes, rounded up (a 90 s lock-out reads "2 minutes")."""
    return -(-int(duration.total_seconds()) // 60) if duration else 0
