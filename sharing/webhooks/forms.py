"""Validation of an endpoint: its URL and the event types it wants."""

import ipaddress
from urllib.parse import urlsplit

from django import forms
from django.conf import settings

from . import delivery
from .events import EVENT_TYPES


class EndpointForm(forms.Form):
    url = forms.URLField(
        label="URL",
        max_length=2000,
        assume_scheme="https",
        help_text="Where events are POSTed, e.g. https://hooks.example.com/images.",
    )
    events = forms.MultipleChoiceField(
        label="Events",
        choices=[(name, f"{name}: {meaning}") for name, meaning in EVENT_TYPES.items()],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Pick at least one event."},
    )

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise forms.ValidationError("Use an http or https URL.")
        if parts.username or parts.password:
            raise forms.ValidationError("Leave credentials out of the URL: requests are signed.")
        _refuse_private_literal(parts.hostname or "")
        return url


def _refuse_private_literal(host: str) -> None:
    """An address typed as such is checked now; names are checked at each delivery."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return
    try:
        delivery.check(address, allow_private=settings.WEBHOOKS_ALLOW_PRIVATE)
    except delivery.Refused as refused:
        raise forms.ValidationError(f"This URL is not called: {refused}") from None
