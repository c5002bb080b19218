from django.conf import settings
from django.db import models

from sharing import crypto


class AuthKind(models.TextChoices):
    RACKSPACE_APIKEY = "rackspace-apikey", "Rackspace Identity v2.0, API key"
    RACKSPACE_PASSWORD = "rackspace-password", "Rackspace Identity v2.0, password"
    KEYSTONE_PASSWORD = "keystone-password", "Keystone v3, password"
    KEYSTONE_APPCRED = "keystone-appcred", "Keystone v3, application credential"


class TenantFormat(models.TextChoices):
    RACKSPACE = "rackspace", "Rackspace account number (digits)"
    KEYSTONE = "keystone", "Keystone project ID (32 hex characters)"
    FREE = "free", "Any ID without spaces"


class ApprovalPolicy(models.TextChoices):
    MEMBERS = "members", "Members request, admins share directly"
    EVERYONE = "everyone", "Every share needs another admin's approval"


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    MEMBER = "member", "Member"
    ADMIN = "admin", "Admin"

    @property
    def rank(self) -> int:
        return [Role.VIEWER, Role.MEMBER, Role.ADMIN].index(self)


class Team(models.Model):
    """A group of dashboard users operating one cloud account."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=50, unique=True)
    auth_kind = models.CharField(
        max_length=20, choices=AuthKind.choices, default=AuthKind.RACKSPACE_APIKEY
    )
    identity_url = models.URLField(blank=True)
    username = models.CharField(
        max_length=255, blank=True, help_text="For an application credential: its ID."
    )
    # Fernet token of the API key, password or credential secret; see crypto.py.
    secret_encrypted = models.TextField(blank=True, editable=False)
    project = models.CharField(
        max_length=255, blank=True, help_text="Keystone: the project name or ID to scope to."
    )
    domain = models.CharField(max_length=255, default="Default")
    tenant_id = models.CharField(
        max_length=255, blank=True, help_text="Learned from the token when the cloud is checked."
    )
    regions = models.JSONField(default=list, blank=True)
    default_region = models.CharField(max_length=32, blank=True)
    tenant_format = models.CharField(
        max_length=10, choices=TenantFormat.choices, default=TenantFormat.RACKSPACE
    )
    approval_policy = models.CharField(
        max_length=10, choices=ApprovalPolicy.choices, default=ApprovalPolicy.MEMBERS
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_encrypted)

    def set_secret(self, secret: str) -> None:
        self.secret_encrypted = crypto.encrypt(secret)

    def get_secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted) if self.secret_encrypted else ""

    def region_or_default(self, region: str | None) -> str:
        if region and region.upper() in self.regions:
            return region.upper()
        return self.default_region or (self.regions[0] if self.regions else "")


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="one_membership_per_team")
        ]
        ordering = ["team__name"]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    def has_role(self, role: str) -> bool:
        return Role(self.role).rank >= Role(role).rank
