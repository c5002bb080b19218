from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Coalesce
from django.utils import timezone

from sharing import crypto
from sharing.cloud import AUTH_KINDS, MEMBER_STATUSES, TENANT_FORMATS

# The most days a team setting may hold: ten years.
MAX_DAYS = 3650


def _choices(name: str, pairs: tuple[tuple[str, str], ...]) -> Any:
    """Choices from the cloud module's own list (the cloud module imports no Django), so each
    of the domain's words is defined once. Typed `Any`: type checkers cannot follow Django's
    functional enum API."""
    members = [(value.upper().replace("-", "_"), (value, label)) for value, label in pairs]
    return models.TextChoices(name, members)  # type: ignore[call-overload]


AuthKind = _choices("AuthKind", AUTH_KINDS)
TenantFormat = _choices("TenantFormat", TENANT_FORMATS)
ShareStatus = _choices("ShareStatus", tuple((s, s.capitalize()) for s in MEMBER_STATUSES))


class ApprovalPolicy(models.TextChoices):
    MEMBERS = "members", "Members request, admins share directly"
    EVERYONE = "everyone", "Every share needs another admin's approval"


class Role(models.TextChoices):
    """Each role can do what the ones before it can, and more. An auditor reads the history,
    verifies and exports it, and nothing else; a viewer can do that too."""

    AUDITOR = "auditor", "Auditor"
    VIEWER = "viewer", "Viewer"
    MEMBER = "member", "Member"
    ADMIN = "admin", "Admin"

    @property
    def rank(self) -> int:
        return [Role.AUDITOR, Role.VIEWER, Role.MEMBER, Role.ADMIN].index(self)


def default_time_zone() -> str:
    return settings.TIME_ZONE


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
    # Bounded so date arithmetic in the background job can never overflow.
    max_share_days = models.PositiveIntegerField(
        default=365,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_DAYS)],
        help_text=f"The longest a requested share may last (1 to {MAX_DAYS} days).",
    )
    request_expiry_days = models.PositiveIntegerField(
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_DAYS)],
        help_text=f"Pending requests expire after this many days (1 to {MAX_DAYS}).",
    )
    reminder_days = models.PositiveIntegerField(
        default=3,
        validators=[MaxValueValidator(MAX_DAYS)],
        help_text=f"Admins are reminded this many days before a share ends (0 to {MAX_DAYS}).",
    )
    time_zone = models.CharField(
        max_length=64,
        default=default_time_zone,
        help_text="A share until a day ends at midnight of that day here (e.g. Europe/Berlin).",
    )
    second_factor_required = models.BooleanField(
        default=False,
        help_text="People who sign in with a password need a second factor (an authenticator "
        "app or a passkey) to open this team's pages. Single sign-on leaves it to the provider.",
    )
    # When the sync last compared our share records with the cloud's members.
    last_synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The public request link (/r/<token>/): off while empty; rotating makes a new token.
    request_link_token = models.CharField(max_length=64, blank=True, db_index=True)
    request_link_images = models.JSONField(
        default=list, blank=True, help_text="Image IDs that may be requested through the link."
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

    @property
    def zone(self) -> ZoneInfo:
        """The team's time zone; the server's if the stored name is unknown here."""
        try:
            return ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo(settings.TIME_ZONE)

    def day_range(self, day: date) -> tuple[datetime, datetime]:
        """The first and the last instant of `day` in the team's time zone, in UTC.

        Every day a person picks or reads (a share's end, a token's, the history's From and
        Until, the day an expiry names) is the team's day: docs/design.md, "Days are the
        team's". The end is the instant before the next day starts, found in UTC, so a day of
        23 or 25 hours, or one whose midnight a clock change skips, is whole. Near the ends of
        the calendar the range stops at what a datetime holds.
        """
        start = _utc(datetime.combine(day, time.min, tzinfo=self.zone))
        if day == date.max:  # no next day to start
            return start, _utc(datetime.combine(day, time.max, tzinfo=self.zone))
        next_start = _utc(datetime.combine(day + timedelta(days=1), time.min, tzinfo=self.zone))
        return start, next_start - timedelta(microseconds=1)

    def today(self) -> date:
        """Today in the team's time zone."""
        return timezone.localdate(timezone=self.zone)

    def catalog_region(self, region: str | None) -> str | None:
        """The catalog's spelling of `region`, matched case-insensitively; None if absent."""
        wanted = (region or "").strip().casefold()
        return next((name for name in self.regions if name.casefold() == wanted), None)

    def region_or_default(self, region: str | None) -> str:
        return (
            self.catalog_region(region)
            or self.default_region
            or (self.regions[0] if self.regions else "")
        )

    def clean(self) -> None:
        if self.default_region and self.regions:
            found = self.catalog_region(self.default_region)
            if found is None:
                regions = ", ".join(self.regions)
                raise ValidationError(
                    {"default_region": f"Not one of the team's regions ({regions})."}
                )
            self.default_region = found


def _utc(moment: datetime) -> datetime:
    """`moment` in UTC; the first or last instant a datetime holds past either end."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        edge = datetime.max if moment.year == datetime.max.year else datetime.min
        return edge.replace(tzinfo=UTC)


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


class Share(models.Model):
    """What the dashboard knows of one image member, updated from what the cloud answered."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="shares")
    region = models.CharField(max_length=32)
    image_id = models.CharField(max_length=64)
    image_name = models.CharField(max_length=255, blank=True)
    tenant = models.CharField(max_length=255)
    status = models.CharField(
        max_length=10, choices=ShareStatus.choices, default=ShareStatus.PENDING
    )
    shared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shared_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    # Set while a worker sends the reminder e-mail: one worker sends it (services/upkeep.py).
    reminder_claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    access_request = models.ForeignKey(
        "AccessRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team", "region", "image_id", "tenant"],
                condition=models.Q(revoked_at__isnull=True),
                name="one_active_share_per_image_and_tenant",
            )
        ]
        indexes = [models.Index(fields=["team", "region", "image_id"])]

    def __str__(self) -> str:
        return f"{self.image_id} → {self.tenant} ({self.status})"


class Action(models.TextChoices):
    SHARE = "share", "Share"
    REVOKE = "revoke", "Revoke"
    MAKE_SHARED = "make_shared", "Make image shared"
    ACCEPT = "accept", "Accept incoming"
    REJECT = "reject", "Reject incoming"
    PENDING = "pending", "Set incoming to pending"
    REQUEST = "request", "Request access"
    APPROVE = "approve", "Approve request"
    REJECT_REQUEST = "reject_request", "Reject request"
    CANCEL = "cancel", "Cancel request"
    EXPIRE = "expire", "Expire"
    DRIFT = "drift", "Drift found by sync"
    EXPORT = "export", "Export history"
    ROLE_CHANGE = "role_change", "Role changed by single sign-on"
    # Image lines (docs/design.md, "Image lines")
    LINE_CREATE = "line_create", "Create line"
    PUBLISH = "publish", "Publish version"
    LABEL = "label", "Write line properties"
    CHANNEL_MOVE = "channel_move", "Move channel"
    DEPRECATE = "deprecate", "Deprecate version"
    RESTORE = "restore", "Restore version"
    SUBSCRIBE = "subscribe", "Subscribe to line"
    UNSUBSCRIBE = "unsubscribe", "Remove subscriber"
    # Trust rules on incoming images (docs/design.md, "Incoming lines and trust rules")
    RULE_CREATE = "rule_create", "Create trust rule"
    RULE_DELETE = "rule_delete", "Delete trust rule"
    RULE_AUDIT = "rule_audit", "Trust rule would accept"


class Outcome(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Unknown"


class Basis(models.TextChoices):
    """How an entry's first outcome was known, when not from the cloud's answer to the call
    itself (empty: it was the answer, or a record made in the dashboard)."""

    INFERRED = "inferred", "Inferred by the client"


class Drift(models.TextChoices):
    """What a sync found changed outside the dashboard (a `drift` entry's kind)."""

    GONE = "gone", "Removed outside the dashboard"
    ADDED = "added", "Added outside the dashboard"
    STATUS = "status", "Status changed by the tenant"


class Channel(models.TextChoices):
    """Where an action came from: a person in the browser, a pipeline, or a background job."""

    WEB = "web", "Browser"
    API = "api", "API"
    SYSTEM = "system", "System"


class AppendOnlyError(Exception):
    """A ledger entry with an outcome cannot change, and no entry can be deleted."""


class LedgerQuerySet(models.QuerySet):
    def delete(self):
        raise AppendOnlyError("Ledger entries are never deleted.")

    def update(self, **kwargs):
        raise AppendOnlyError("Ledger entries change only through LedgerEntry.save().")

    def open(self) -> "LedgerQuerySet":
        """Entries without a final outcome: unresolved attempts and unsettled `unknown`s."""
        return self.filter(
            models.Q(outcome__isnull=True) | models.Q(outcome=Outcome.UNKNOWN, settled_at=None)
        )


class LedgerEntry(models.Model):
    """One action and its outcome, append-only (docs/design.md, "The ledger").

    Shaped like django-auditlog's log entry, but written explicitly by the services.

    An attempt is saved with no outcome before the upstream call and completed after it, so a
    crash in between leaves a visible unresolved attempt for a later check to settle.
    """

    created_at = models.DateTimeField(default=timezone.now)
    # Not indexed alone: every index below leads with the team.
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="ledger", db_index=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150)
    action = models.CharField(max_length=20, choices=Action.choices)
    region = models.CharField(max_length=32, blank=True)
    image_id = models.CharField(max_length=64, blank=True)
    image_name = models.CharField(max_length=255, blank=True)
    tenant = models.CharField(max_length=255, blank=True)
    note = models.TextField(blank=True)
    # NULL, not "", marks an unresolved attempt: the PostgreSQL trigger tests for it.
    outcome = models.CharField(  # noqa: DJ001
        max_length=10, choices=Outcome.choices, null=True, blank=True
    )
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    message = models.TextField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    access_request = models.ForeignKey(
        "AccessRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)
    # Settling: an attempt left open by a crash, or answered `unknown`, gains its final outcome
    # once, from evidence read later (docs/design.md, "Settling"). `message` keeps what the
    # user was told at the time; `settlement` says what the evidence showed.
    settled_at = models.DateTimeField(null=True, blank=True)
    settlement = models.TextField(blank=True)
    # `inferred` when the client established the first outcome (a read after a lost answer, a
    # retry that met 404), not the cloud's answer to this very call: only an answer is evidence
    # of the member's state before the call (docs/design.md, "Settling outcomes"). Empty by
    # default, like `drift`, a `drift` entry's kind (`message` says it for people).
    basis = models.CharField(max_length=10, choices=Basis.choices, blank=True)
    drift = models.CharField(max_length=10, choices=Drift.choices, blank=True)
    # The image line (and its version number) an entry acts for, if any.
    line = models.ForeignKey(
        "Line", null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    line_version = models.PositiveIntegerField(null=True, blank=True)

    objects = LedgerQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        # Each history filter has an index ending in the page order, for keyset paging.
        indexes = [
            models.Index(fields=["team", "-created_at", "-id"], name="ledger_team_time"),
            *(
                models.Index(fields=["team", column, "-created_at", "-id"], name=f"ledger_{name}")
                for column, name in [
                    ("image_id", "image"),
                    ("tenant", "tenant"),
                    ("actor_name", "actor"),
                    ("action", "action"),
                    ("outcome", "outcome"),
                    ("channel", "channel"),
                ]
            ),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.outcome}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            stored = LedgerEntry.objects.filter(pk=self.pk).values_list("outcome", flat=True)
            if stored.first() is not None:
                raise AppendOnlyError("A completed ledger entry cannot change.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Ledger entries are never deleted.")

    @property
    def open(self) -> bool:
        """No final outcome yet: unresolved, or `unknown` and not settled."""
        return self.outcome is None or (self.outcome == Outcome.UNKNOWN and not self.settled_at)

    def complete(
        self,
        outcome: str,
        *,
        http_status: int | None = None,
        request_id: str | None = None,
        message: str = "",
        basis: str = "",
    ) -> bool:
        """Give an unresolved attempt its outcome; False if a settlement came first.

        A conditional UPDATE, so a slow request and a sync settling the same attempt cannot
        both complete it. The image's name, when learnt during the call, is written with it.
        """
        if self.outcome is not None:
            raise AppendOnlyError("A completed ledger entry cannot change.")
        values = {
            "image_name": self.image_name,
            "outcome": outcome,
            "http_status": http_status,
            "request_id": request_id or "",
            "message": message,
            "completed_at": timezone.now(),
            "basis": basis,
        }
        won = _raw_update(LedgerEntry.objects.filter(pk=self.pk, outcome__isnull=True), values)
        if won:
            for name, value in values.items():
                setattr(self, name, value)
        return bool(won)

    def settle(self, outcome: str, settlement: str) -> bool:
        """The one change a completed entry allows: `unknown` (or unresolved) gains its final
        outcome from later evidence, once. False if another worker settled it first."""
        now = timezone.now()
        values = {
            "outcome": outcome,
            "settlement": settlement,
            "settled_at": now,
            # This object may have been read before another process completed the entry.
            "completed_at": Coalesce(models.F("completed_at"), models.Value(now)),
        }
        won = _raw_update(
            LedgerEntry.objects.filter(
                models.Q(outcome__isnull=True) | models.Q(outcome=Outcome.UNKNOWN),
                pk=self.pk,
                settled_at=None,
            ),
            values,
        )
        if won:
            self.refresh_from_db()  # as settled, with whatever completed it meanwhile
        return bool(won)


def _raw_update(queryset: models.QuerySet, values: dict) -> int:
    """The conditional UPDATEs of `complete` and `settle`, which the queryset otherwise refuses."""
    return models.QuerySet.update(queryset, **values)


class Change(models.TextChoices):
    """What happened to an entry, as its link in the chain records it."""

    WRITTEN = "written", "Written"
    COMPLETED = "completed", "Completed"
    SETTLED = "settled", "Settled"


class LedgerLink(models.Model):
    """One link of a team's hash chain: an entry written, completed or settled.

    `digest` is the entry's fields as they were at that moment; `hash` chains it to the link
    before (docs/design.md, "A ledger an auditor can verify"). The entry is named by its id,
    not a foreign key, so a row deleted behind the application's back leaves its link to say so.
    """

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+", db_index=False)
    seq = models.PositiveBigIntegerField()
    entry_id = models.BigIntegerField()
    change = models.CharField(max_length=10, choices=Change.choices)
    digest = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "seq"], name="one_link_per_place"),
        ]
        indexes = [models.Index(fields=["team", "entry_id", "seq"], name="ledger_link_entry")]

    def __str__(self) -> str:
        return f"{self.team_id}#{self.seq} {self.change} {self.entry_id}"


class LedgerHead(models.Model):
    """The newest link of a team's chain; its row lock makes writers take turns."""

    team = models.OneToOneField(Team, on_delete=models.PROTECT, primary_key=True, related_name="+")
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.team_id}#{self.seq}"


class LedgerCheckpoint(models.Model):
    """A signed statement of a team's chain at one moment: its head and its length."""

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="checkpoints")
    seq = models.PositiveBigIntegerField()
    head = models.CharField(max_length=64)
    entries = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    signature = models.CharField(max_length=128)
    key_id = models.CharField(max_length=16)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["team", "-created_at"], name="checkpoint_team_time")]

    def __str__(self) -> str:
        return f"{self.team_id}#{self.seq} at {self.created_at:%Y-%m-%d %H:%M}"


class Partner(models.Model):
    """A named tenant in the team's directory, so people pick names instead of numbers."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="partners")
    name = models.CharField(max_length=100)
    tenant = models.CharField(max_length=255)
    notes = models.TextField(blank=True)
    # Told when a line it subscribes to publishes or deprecates a version.
    contact_email = models.EmailField(blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "tenant"], name="one_partner_per_tenant"),
        ]

    def __str__(self) -> str:
        return f"{self.name} — {self.tenant}"


class RequestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"
    FAILED = "failed", "Approved, share failed"


class AccessRequest(models.Model):
    """A request that an image be shared with a tenant, awaiting an admin's decision."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="access_requests")
    region = models.CharField(max_length=32)
    image_id = models.CharField(max_length=64)
    image_name = models.CharField(max_length=255, blank=True)
    tenant = models.CharField(max_length=255)
    justification = models.TextField()
    share_until = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    # A team user, or an outside requester who came through the team's request link.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requester_name = models.CharField(max_length=150)
    requester_email = models.EmailField(blank=True)
    via_link = models.BooleanField(default=False)
    status_token = models.CharField(max_length=64, unique=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    failure = models.TextField(blank=True)
    # Set when an approval claims the request, cleared once the status says its share's final
    # outcome: a request still carrying it long after is settled by the upkeep.
    sharing_since = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    # A request to subscribe to an image line instead of a share of one image (image_id "").
    line = models.ForeignKey(
        "Line", null=True, blank=True, on_delete=models.PROTECT, related_name="requests"
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "region", "image_id", "tenant"],
                condition=models.Q(status="pending", line__isnull=True),
                name="one_open_request_per_image_and_tenant",
            ),
            models.UniqueConstraint(
                fields=["line", "tenant"],
                condition=models.Q(status="pending", line__isnull=False),
                name="one_open_request_per_line_and_tenant",
            ),
        ]
        indexes = [
            models.Index(fields=["team", "status", "-id"], name="request_team_status"),
            models.Index(
                fields=["team", "sharing_since"],
                condition=models.Q(sharing_since__isnull=False),
                name="request_sharing",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.image_id} → {self.tenant} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in (RequestStatus.PENDING, RequestStatus.FAILED)


class ApiToken(models.Model):
    """A person's token for the automation API, for one team: it acts as its user with the
    user's role in that team at the time of each call.

    Only a SHA-256 digest of the secret is stored: the secret has 256 random bits, so a slow
    password hash would add nothing but time to every API call. `prefix` (the first characters
    of the token) tells people which token is which.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "team"], name="api_token_user_team")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class IdempotencyRecord(models.Model):
    """The first answer to an API mutation sent with an `Idempotency-Key`, per token and key.

    The row is claimed (inserted without an answer) before the work starts, so a concurrent
    repeat finds it and does not call the cloud again; the answer is stored when the work ends.
    """

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.TextField(blank=True)
    content_type = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "key"], name="one_answer_per_token_and_key")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.key} ({self.status_code or 'in progress'})"


# Image lines (docs/design.md, "Image lines")


class Line(models.Model):
    """A named series of one team's images in one region: each image of it is a version."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="lines")
    region = models.CharField(max_length=32)
    slug = models.SlugField(max_length=50)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    # The newest `keep` versions stay active; older ones are deprecated. None: all stay.
    keep = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    # Days a version deprecated by `keep` stays shared before the expiry job revokes it.
    grace_days = models.PositiveIntegerField(default=0, validators=[MaxValueValidator(MAX_DAYS)])
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "slug"], name="one_line_per_team_and_slug")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"


class VersionState(models.TextChoices):
    ACTIVE = "active", "Active"
    DEPRECATED = "deprecated", "Deprecated"
    # Revoked from the subscribers at its date; no longer restorable.
    RETIRED = "retired", "Retired"


class LineVersion(models.Model):
    """One image of a line, numbered 1, 2, 3… in publish order."""

    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    image_id = models.CharField(max_length=64)
    image_name = models.CharField(max_length=255, blank=True)
    state = models.CharField(
        max_length=10, choices=VersionState.choices, default=VersionState.ACTIVE
    )
    replacement = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Deprecated: the day the expiry job revokes it (the end of that day, in the team's zone).
    revoke_on = models.DateField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(default=timezone.now)
    deprecated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["line", "number"], name="one_version_per_number"),
            models.UniqueConstraint(fields=["line", "image_id"], name="one_version_per_image"),
        ]

    def __str__(self) -> str:
        return f"{self.line.slug} v{self.number} ({self.image_id})"


class LineSubscriber(models.Model):
    """A tenant that gets every version published while it is subscribed."""

    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="subscribers")
    tenant = models.CharField(max_length=255)
    until = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)
    access_request = models.ForeignKey(
        AccessRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["line", "tenant"],
                condition=models.Q(removed_at__isnull=True),
                name="one_active_subscription_per_tenant",
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant} → {self.line.slug}"


class LineChannel(models.Model):
    """A named pointer to one version of a line: `latest` moves on publish, others by hand."""

    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="channels")
    name = models.SlugField(max_length=40)
    version = models.ForeignKey(LineVersion, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True)
    moved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    moved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["line", "name"], name="one_channel_per_name")
        ]

    def __str__(self) -> str:
        return f"{self.line.slug}:{self.name} → v{self.version.number}"


# The consumer's side of lines (docs/design.md, "Incoming lines and trust rules")


class RuleMode(models.TextChoices):
    AUDIT = "audit", "Audit: record what it would accept"
    ENFORCE = "enforce", "Enforce: accept"


class TrustRule(models.Model):
    """Accept, for the team, pending images shared by one owner (of one line, if named)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="trust_rules")
    owner = models.CharField(max_length=255)
    # Empty: every image of the owner; else only images whose `image_line` property is this.
    line = models.CharField(max_length=50, blank=True)
    mode = models.CharField(max_length=10, choices=RuleMode.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["owner", "line", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "owner", "line"], name="one_rule_per_owner_line"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.owner} {self.line or '*'} ({self.mode})"


class IncomingImage(models.Model):
    """A pending image shared with the team, as the sync first saw it: its row is what makes
    `incoming.received` go out once, and its claims what makes a rule act on it once, whatever
    the number of workers."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    region = models.CharField(max_length=32)
    image_id = models.CharField(max_length=64)
    owner = models.CharField(max_length=255, blank=True)
    seen_at = models.DateTimeField(default=timezone.now)
    # Set by the worker that records an audit rule's finding, or that accepts for a rule in
    # `enforce` (released if the accept failed, for the next run).
    audited_at = models.DateTimeField(null=True, blank=True)
    accept_claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team", "region", "image_id"], name="one_incoming_record_per_image"
            )
        ]

    def __str__(self) -> str:
        return f"{self.image_id} from {self.owner}"
