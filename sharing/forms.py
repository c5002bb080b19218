"""Validation and normalisation of what people type. Forms never call services or the cloud."""

import re
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django import forms
from django.conf import settings

from sharing.cloud.tenants import validate_tenant_id
from sharing.models import Action, Channel, Outcome, Partner, RuleMode, Team

_SEPARATORS = re.compile(r"[,;\n\r]+")


def split_tenants(raw: str, team: Team) -> list[str]:
    """Tenant IDs from free text (comma or newline separated), checked and de-duplicated.

    A space inside one entry ("12 34") is refused rather than read as two tenants: the person
    may have meant one ID. Raises one ValidationError naming every bad ID, so the person can
    fix them all at once.
    """
    seen: dict[str, None] = {}
    errors = []
    for token in filter(None, (part.strip() for part in _SEPARATORS.split(raw))):
        if any(char.isspace() for char in token):
            errors.append(
                f"“{token}” has a space inside: put a comma between two tenant IDs, "
                "or remove the space from one."
            )
            continue
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


class DateInput(forms.DateInput):
    input_type = "date"


def whole_number(raw: object) -> int | None:
    """ASCII digits that fit a bigint, else None. `"²".isdigit()` is true and `int()` takes
    other scripts' digits too, so both checks are needed before `int()`."""
    text = str(raw) if raw is not None else ""
    if text and text.isascii() and text.isdigit() and len(text) <= 18:
        return int(text)
    return None


class PartnerChoice(forms.ModelMultipleChoiceField):
    def clean(self, value):
        # A primary key the database cannot hold is no partner (not an OverflowError).
        for pk in value or []:
            if whole_number(pk) is None:
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super().clean(value)

    def label_from_instance(self, partner: Partner) -> str:
        return f"{partner.name} ({partner.tenant})"


class ShareForm(forms.Form):
    members = forms.CharField(
        label="Tenant IDs",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "100002, 100003"}),
        help_text="One or more tenant IDs, separated by commas or new lines.",
    )
    partners = PartnerChoice(
        queryset=Partner.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Partners",
    )
    expires_at = forms.DateField(
        label="Share until",
        required=False,
        widget=DateInput,
        help_text="The share is revoked automatically at the end of this day.",
    )
    # Tenant IDs or partners: at least one of the two (the template says so once).
    one_of = ("members", "partners")
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why: kept in the history.",
    )
    # Set by the confirmation page of a private image: "Make shared, then share".
    make_shared = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, team: Team, **kwargs):
        super().__init__(*args, **kwargs)
        self.team = team
        cast(forms.ModelMultipleChoiceField, self.fields["partners"]).queryset = team.partners.all()
        self.fields[
            "expires_at"
        ].help_text = (
            f"The share is revoked automatically at the end of this day ({team.time_zone})."
        )

    def clean_members(self) -> list[str]:
        return split_tenants(self.cleaned_data["members"], self.team)

    def clean_expires_at(self) -> datetime | None:
        return clean_share_until(self.cleaned_data.get("expires_at"), self.team)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        typed = data.get("members") or []
        picked = [partner.tenant for partner in data.get("partners") or []]
        data["tenants"] = list(dict.fromkeys(typed + picked))
        if not data["tenants"] and "members" not in self.errors:
            self.add_error("members", "Enter at least one tenant ID or pick a partner.")
        return data


class NoteForm(forms.Form):
    """Revoking a share: an optional note."""

    note = forms.CharField(required=False, max_length=2000)


class ApproveForm(NoteForm):
    """Approving a request: an optional note, and the confirmation to make the image shared."""

    make_shared = forms.BooleanField(required=False)


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
    image = forms.CharField(
        required=False,
        label="Image",
        max_length=255,
        widget=forms.TextInput(attrs={"placeholder": "Name or ID"}),
    )
    member = forms.CharField(required=False, label="Tenant", max_length=255)
    actor = forms.CharField(required=False, label="Who", max_length=150)
    action = forms.ChoiceField(choices=[("", "Any action"), *Action.choices], required=False)
    outcome = forms.ChoiceField(
        choices=[("", "Any outcome"), ("unresolved", "Unresolved"), *Outcome.choices],
        required=False,
    )
    channel = forms.ChoiceField(choices=[("", "Any channel"), *Channel.choices], required=False)
    since = forms.DateField(required=False, widget=DateInput, label="From")
    until = forms.DateField(required=False, widget=DateInput, label="Until")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["tenant"] = data.pop("member", "")  # the query parameter `member` is a tenant ID
        for name in ("since", "until"):
            if data.get(name) and data[name].year < 1900:
                self.add_error(name, "Pick a date from 1900 on.")  # also drops it from data
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "This date is before the start date.")
        return data


def tenant_or_partner(raw: str, team: Team) -> str:
    """One tenant: an ID, or a partner's name from the team's directory."""
    raw = raw.strip()
    partner = team.partners.filter(name__iexact=raw).first()
    if partner is not None:
        return partner.tenant
    try:
        tenant = validate_tenant_id(raw, team.tenant_format)
    except ValueError as error:
        raise forms.ValidationError(f"{error} Or pick a partner by name.") from None
    if tenant == team.tenant_id:
        raise forms.ValidationError("That is this team's own account.")
    return tenant


def clean_share_until(day: date | None, team: Team) -> datetime | None:
    """A share "until 1 Jan 2027" ends at the end of 1 Jan 2027 in the team's time zone
    (docs/design.md, "Share until"), whatever the time zone of the browser that picked it."""
    if day is None:
        return None
    today = team.today()
    if day < today:
        raise forms.ValidationError("The end date is in the past.")
    if (day - today).days > team.max_share_days:
        last = today + timedelta(days=team.max_share_days)
        raise forms.ValidationError(f"At most {team.max_share_days} days from today ({last}).")
    return team.day_range(day)[1]


class AccessRequestForm(forms.Form):
    image_id = forms.CharField(
        label="Image",
        max_length=64,
        widget=forms.TextInput(attrs={"list": "team-images", "autocomplete": "off"}),
        help_text="The image's ID; start typing to pick one of the team's images.",
    )
    member = forms.CharField(
        label="Tenant",
        max_length=255,
        widget=forms.TextInput(attrs={"list": "partners", "autocomplete": "off"}),
        help_text="A tenant ID, or a partner's name.",
    )
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        error_messages={"required": "Say why the tenant needs this image."},
        help_text="Why this tenant needs the image: the admins decide on this.",
    )
    expires_at = forms.DateField(
        label="Share until", required=False, widget=DateInput, help_text="Optional end date."
    )

    def __init__(self, *args, team: Team, images: list | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.team = team
        self.fields[
            "expires_at"
        ].help_text = f"Optional; at most {team.max_share_days} days. The share ends by itself."
        if images:
            self._pick_by_name(images)

    def _pick_by_name(self, images: list) -> None:
        """The team's images by name, the ID secondary; an ID given in the link stays offered."""
        choices = [("", "Choose an image")] + [
            (image.id, f"{image.name or '(no name)'} · {image.id[:8]}") for image in images
        ]
        given = self.data.get("image_id") or self.initial.get("image_id")
        if given and given not in {image.id for image in images}:
            choices.append((given, given))
        self.fields["image_id"].widget = forms.Select(choices=choices)
        self.fields["image_id"].help_text = "The team's images in this region, by name."

    def clean_member(self) -> str:
        return tenant_or_partner(self.cleaned_data["member"], self.team)

    def clean_justification(self) -> str:
        text = self.cleaned_data["justification"].strip()
        if not text:
            raise forms.ValidationError("Say why the tenant needs this image.")
        return text

    def clean_expires_at(self) -> datetime | None:
        return clean_share_until(self.cleaned_data.get("expires_at"), self.team)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "member" in data:  # the form field `member` is the tenant asked for
            data["tenant"] = data.pop("member")
        return data


class OutsideRequestForm(AccessRequestForm):
    """The public request link: no login, so the requester says who they are."""

    name = forms.CharField(label="Your name", max_length=150)
    email = forms.EmailField(label="Your e-mail", help_text="The decision is sent here.")
    field_order = ["name", "email", "member", "image_id", "justification", "expires_at"]

    def __init__(self, *args, team: Team, images: list[tuple[str, str]], **kwargs):
        super().__init__(*args, team=team, **kwargs)
        self.fields["image_id"] = forms.ChoiceField(
            label="Image", choices=[("", "Choose an image"), *images]
        )
        self.fields["member"].label = "Your tenant ID"
        self.fields["member"].help_text = "Your account number or project ID."

    def clean_member(self) -> str:
        # Outsiders do not see the partner directory: an ID only.
        try:
            tenant = validate_tenant_id(self.cleaned_data["member"], self.team.tenant_format)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None
        if tenant == self.team.tenant_id:
            raise forms.ValidationError("That is the image owner's own account.")
        return tenant


class RejectForm(forms.Form):
    note = forms.CharField(
        label="Reason",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why: the requester sees this reason."},
    )

    def clean_note(self) -> str:
        note = self.cleaned_data["note"].strip()
        if not note:
            raise forms.ValidationError("Say why: the requester sees this reason.")
        return note


class PartnerForm(forms.ModelForm):
    class Meta:
        model = Partner
        fields = ["name", "tenant", "notes", "contact_email"]
        labels = {"tenant": "Tenant ID", "contact_email": "Contact e-mail"}
        help_texts = {"contact_email": "Told of new and deprecated versions of lines."}
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, team: Team, **kwargs):
        super().__init__(*args, **kwargs)
        self.team = team

    def clean_tenant(self) -> str:
        try:
            tenant = validate_tenant_id(self.cleaned_data["tenant"], self.team.tenant_format)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None
        clash = self.team.partners.filter(tenant=tenant).exclude(pk=self.instance.pk).first()
        if clash is not None:
            raise forms.ValidationError(f"{tenant} is already in the directory as {clash.name}.")
        return tenant


class TeamSettingsForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = [
            "approval_policy", "max_share_days", "request_expiry_days", "reminder_days",
            "time_zone", "second_factor_required",
        ]  # fmt: skip
        widgets = {
            "approval_policy": forms.RadioSelect,
            "time_zone": forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].required = False
        self.fields["time_zone"].help_text = (
            "Where a share “until 1 Jan” ends: at midnight ending that day in this time zone. "
            f"Empty: the server's ({settings.TIME_ZONE})."
        )

    def clean_time_zone(self) -> str:
        name = (self.cleaned_data["time_zone"] or "").strip() or settings.TIME_ZONE
        if name not in available_timezones():
            raise forms.ValidationError(
                f"“{name}” is not a time zone name; pick one such as Europe/Berlin or UTC."
            )
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise forms.ValidationError(f"“{name}” is not a time zone this server knows.") from None
        return name

    def clean_max_share_days(self) -> int:
        days = self.cleaned_data["max_share_days"]
        if days < 1:
            raise forms.ValidationError("At least one day.")
        return days


class LinkImagesForm(forms.Form):
    images = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Images that may be requested"
    )

    def __init__(self, *args, choices: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.MultipleChoiceField, self.fields["images"]).choices = choices


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What uses it, e.g. “packer pipeline”: shown in the list."
    )
    expires_at = forms.DateField(
        label="Expires",
        required=False,
        widget=DateInput,
    )

    def __init__(self, *args, team: Team, **kwargs):
        super().__init__(*args, **kwargs)
        self.team = team
        last_day = self.fields["expires_at"]
        last_day.help_text = f"It stops working at the end of this day ({team.time_zone})."

    def clean_expires_at(self) -> datetime | None:
        """A token belongs to one team, so its last day is the team's, like a share's."""
        day = self.cleaned_data.get("expires_at")
        if day is not None and day <= self.team.today():
            raise forms.ValidationError("Pick a day after today.")
        return self.team.day_range(day)[1] if day else None


# Image lines


class LineForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100)
    slug = forms.SlugField(
        label="Slug",
        max_length=50,
        help_text="Short name in URLs and in the image property image_line (e.g. web-base).",
    )
    region = forms.ChoiceField(label="Region")
    description = forms.CharField(
        label="Description", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    keep = forms.IntegerField(
        label="Keep",
        required=False,
        min_value=1,
        max_value=1000,
        help_text="The newest N versions stay active; older ones are deprecated. Empty: all.",
    )
    grace_days = forms.IntegerField(
        label="Grace days",
        required=False,
        min_value=0,
        max_value=3650,
        initial=0,
        help_text="Days a version that falls out of Keep stays shared before it is revoked.",
    )

    def __init__(self, *args, team: Team, **kwargs):
        super().__init__(*args, **kwargs)
        regions = [(r, r) for r in team.regions] or [(team.default_region, team.default_region)]
        cast(forms.ChoiceField, self.fields["region"]).choices = regions
        self.fields["region"].initial = team.default_region

    def clean_grace_days(self) -> int:
        return self.cleaned_data.get("grace_days") or 0


class PublishForm(forms.Form):
    image_id = forms.CharField(
        label="Image ID", max_length=64, help_text="An image of the team in the line's region."
    )


class SubscriberForm(ShareForm):
    """Subscribing tenants to a line: the share form's fields, its checks and partners."""

    def __init__(self, *args, team: Team, **kwargs):
        super().__init__(*args, team=team, **kwargs)
        self.fields["expires_at"].label = "Subscribed until"
        self.fields[
            "expires_at"
        ].help_text = (
            f"The subscription and its shares end at the end of this day ({team.time_zone})."
        )


class ChannelForm(forms.Form):
    image_id = forms.CharField(label="Version (image ID)", max_length=64)
    note = forms.CharField(label="Note", required=False, max_length=1000)


class DeprecateForm(forms.Form):
    replacement = forms.CharField(
        label="Replacement (image ID)",
        max_length=64,
        help_text="An active version of the same line.",
    )
    revoke_on = forms.DateField(
        label="Revoke on",
        widget=DateInput,
        help_text="The expiry job revokes it from every subscriber on this day.",
    )
    note = forms.CharField(label="Note", required=False, max_length=1000)


class SubscriberRemoveForm(NoteForm):
    revoke = forms.BooleanField(
        label="Also revoke the versions it has", required=False, initial=False
    )


class OutsideLineRequestForm(OutsideRequestForm):
    """The public request link for one image line: who asks, for which account, and why."""

    def __init__(self, *args, team: Team, **kwargs):
        super().__init__(*args, team=team, images=[], **kwargs)
        del self.fields["image_id"]
        self.fields["expires_at"].label = "Subscribed until"


class TrustRuleForm(forms.Form):
    """A trust rule's fields; the rules about them (not our own account, no duplicate, a
    line that is a slug) are the service's, so the API and the page say the same."""

    owner = forms.CharField(
        label="Owner tenant",
        max_length=255,
        help_text="The account that shares the images: pick a partner or type its tenant ID.",
        widget=forms.TextInput(attrs={"list": "owner-partners", "autocomplete": "off"}),
    )
    line = forms.CharField(
        label="Line",
        max_length=100,
        required=False,
        help_text="The image_line property of the owner's versions (e.g. web-base); empty: "
        "every image of this owner.",
    )
    mode = forms.ChoiceField(
        label="Mode", choices=RuleMode.choices, initial=RuleMode.AUDIT, widget=forms.RadioSelect
    )
