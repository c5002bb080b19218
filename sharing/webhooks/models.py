"""Endpoints, the outbox of events, and each event's delivery to each endpoint."""

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from sharing import crypto
from sharing.models import LedgerEntry, Team


class Endpoint(models.Model):
    """A team's receiver: a URL, the event types it wants, and its signing secret.

    The secret is stored encrypted (it signs, so it must be readable). After a rotation the
    previous secret keeps signing too until `previous_until`, so receivers can switch over.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list)
    secret_encrypted = models.TextField(editable=False)
    previous_secret_encrypted = models.TextField(blank=True, editable=False)
    previous_until = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Set by an admin's *Disable*, or when deliveries have failed for DISABLE_AFTER.
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    # The first failure since the last delivery that succeeded.
    failing_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.url

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None

    def set_secret(self, secret: str) -> None:
        self.secret_encrypted = crypto.encrypt(secret)

    def signing_secrets(self, now: datetime | None = None) -> list[str]:
        """The current secret, and the previous one while the rotation's overlap lasts."""
        now = now or timezone.now()
        secrets = [crypto.decrypt(self.secret_encrypted)]
        if self.previous_secret_encrypted and self.previous_until and self.previous_until > now:
            secrets.append(crypto.decrypt(self.previous_secret_encrypted))
        return secrets

    def wants(self, event_type: str) -> bool:
        return event_type in self.events


class Event(models.Model):
    """The outbox: one event, its body frozen as sent, written with the outcome it reports.

    `message_id` is the `webhook-id` of every delivery and retry of this body, so a receiver
    can drop a repeat. `subject` names the member it concerns (region, image, tenant): one
    endpoint's deliveries with the same subject go out in order.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    message_id = models.CharField(max_length=64, unique=True, editable=False)
    type = models.CharField(max_length=50)
    subject = models.CharField(max_length=400, blank=True)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    ledger_entry = models.ForeignKey(
        LedgerEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.type} {self.message_id}"

    @staticmethod
    def new_message_id() -> str:
        return f"msg_{uuid.uuid4().hex}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Gave up"


class Delivery(models.Model):
    """One event to one endpoint: its attempts so far and the last answer."""

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    subject = models.CharField(max_length=400, blank=True)
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A worker sending it holds it until then; one killed mid-send lets it go by itself.
    claimed_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=32, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    response_head = models.TextField(blank=True)
    error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="one_delivery_per_endpoint")
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["endpoint", "subject", "state", "id"], name="delivery_order"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint} ({self.state})"
