"""Validation and normalisation of what people type. Forms never call services or the cloud."""

import re
from datetime import date, datetime, time

from django import forms
from django.utils import timezone

from sharing.cloud.tenants import validate_tenant_id
from sharing.models import Action, Outcome, Team

_SEPARATORS = re.compile(r"[\s,;]+")


def split_tenants(raw: str, team: Team) -> list[str]:
    """Tenant IDs from free text (comma, space or newline separated), checked and de-duplicated.

    Raises one ValidationError naming every bad ID, so the person can fix them all at once.
    """
    seen: dict[str, None] = {}
    errors = []
    for token in filter(None, _SEPARATORS.split(raw)):
        try:
            tenant = validate_tenant_id(token, team.tenant_format)
        except ValueError as error:
            errors.append(str(error))
            continue
        if tenant == team.tenant_id:
            errors.append(f"{tenant} is this team's own account; share with other tenants.")
            continue
        seen[tenant] = None
    if errors:
        raise forms.ValidationError(errors)
    return list(seen)


def end_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.max))


class DateInput(forms.DateInput):
    input_type = "date"


class ShareForm(forms.Form):
    members = forms.CharField(
        label="Tenant IDs",
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "100002, 100003"}),
        help_text="One or more tenant IDs, separated by commas, spaces or new lines.",
    )
    expires_at = forms.DateField(
        label="Share until",
        required=False,
        widget=DateInput,
        help_text="The share is revoked automatically at the end of this day.",
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why: kept in the history.",
    )

    def __init__(self, *args, team: Team, **kwargs):
        super().__init__(*args, **kwargs)
        self.team = team

    def clean_members(self) -> list[str]:
        tenants = split_tenants(self.cleaned_data["members"], self.team)
        if not tenants:
            raise forms.ValidationError("Enter at least one tenant ID.")
        return tenants

    def clean_expires_at(self) -> datetime | None:
        day = self.cleaned_data.get("expires_at")
        if day is None:
            return None
        if day < timezone.localdate():
            raise forms.ValidationError("The end date is in the past.")
        return end_of_day(day)


class NoteForm(forms.Form):
    """Revoking a share or answering an incoming one: an optional note."""

    note = forms.CharField(required=False, max_length=1000)


class ImageFilterForm(forms.Form):
    VISIBILITIES = [("", "Any visibility")] + [
        (v, v.capitalize()) for v in ("shared", "private", "public", "community")
    ]
    STATUSES = [("", "Any status")] + [
        (s, s.capitalize()) for s in ("active", "queued", "saving", "deactivated", "killed")
    ]

    name = forms.CharField(required=False, label="Exact name", max_length=255)
    visibility = forms.ChoiceField(choices=VISIBILITIES, required=False)
    status = forms.ChoiceField(choices=STATUSES, required=False)
    marker = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def upstream_filters(self) -> dict[str, str]:
        data = self.cleaned_data if self.is_valid() else {}
        return {key: data[key] for key in ("name", "visibility", "status") if data.get(key)}


class HistoryFilterForm(forms.Form):
    image = forms.CharField(required=False, label="Image ID", max_length=64)
    member = forms.CharField(required=False, label="Tenant", max_length=255)
    actor = forms.CharField(required=False, label="Who", max_length=150)
    action = forms.ChoiceField(choices=[("", "Any action"), *Action.choices], required=False)
    outcome = forms.ChoiceField(
        choices=[("", "Any outcome"), ("unresolved", "Unresolved"), *Outcome.choices],
        required=False,
    )
    since = forms.DateField(required=False, widget=DateInput, label="From")
    until = forms.DateField(required=False, widget=DateInput, label="Until")

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "This date is before the start date.")
        return data
