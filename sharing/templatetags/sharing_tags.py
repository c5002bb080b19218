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
