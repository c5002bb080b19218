from django import forms
from django.contrib import admin

from sharing.models import Membership, Team


class TeamAdminForm(forms.ModelForm):
    """The cloud secret is write-only: it is never rendered back, only replaced."""

    new_secret = forms.CharField(
        label="New cloud secret",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="API key, password or application credential secret. "
        "Leave empty to keep the stored one.",
    )

    class Meta:
        model = Team
        fields = [
            "name",
            "slug",
            "auth_kind",
            "identity_url",
            "username",
            "project",
            "domain",
            "tenant_id",
            "regions",
            "default_region",
            "tenant_format",
            "approval_policy",
        ]

    def save(self, commit=True):
        team = super().save(commit=False)
        if self.cleaned_data.get("new_secret"):
            team.set_secret(self.cleaned_data["new_secret"])
        if commit:
            team.save()
        return team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    form = TeamAdminForm
    list_display = ["name", "slug", "auth_kind", "tenant_id", "default_region", "approval_policy"]
    search_fields = ["name", "slug", "tenant_id"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["secret_stored", "created_at"]
    inlines = [MembershipInline]

    @admin.display(description="Cloud secret", boolean=True)
    def secret_stored(self, team: Team) -> bool:
        return team.has_secret


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "team__name"]
    autocomplete_fields = ["user"]
