from django import forms
from django.contrib import admin

from sharing.models import ApiToken, LedgerEntry, Membership, Share, Team


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


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    """Read-only: the ledger is append-only (docs/design.md, "The ledger")."""

    list_display = [
        "created_at", "team", "actor_name", "action", "image_name", "tenant", "outcome",
        "http_status",
    ]  # fmt: skip
    list_filter = ["action", "outcome", "team"]
    search_fields = ["image_id", "image_name", "tenant", "actor_name", "request_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # counting millions of rows on every page is slow

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Share)
class ShareAdmin(admin.ModelAdmin):
    list_display = ["image_name", "tenant", "status", "team", "region", "shared_at", "revoked_at"]
    list_filter = ["status", "team", "region"]
    search_fields = ["image_id", "image_name", "tenant"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are made by their users (or `create_api_token`); here a superuser can see them and
    revoke one by setting `revoked_at`. The secret is not stored, only its digest, never shown."""

    list_display = ["name", "prefix", "user", "team", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["team"]
    search_fields = ["name", "prefix", "user__username"]
    fields = [
        "user", "team", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at",
    ]  # fmt: skip
    readonly_fields = ["user", "team", "prefix", "created_at", "last_used_at"]

    def has_add_permission(self, request):
        return False
