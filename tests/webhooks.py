"""Helpers of the webhook tests: a receiver that verifies with `standardwebhooks`, endpoints
pointing at it, and a way to let committed transactions wake the worker."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone

from sharing.webhooks import services
from sharing.webhooks.events import EVENT_TYPES
from sharing.webhooks.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver([]) as started:
        yield started


def add_endpoint(team, receiver: Receiver, events=None, url: str | None = None):
    endpoint, secret = services.endpoint_create(
        team=team, actor=None, url=url or receiver.url, event_types=list(events or EVENT_TYPES)
    )
    receiver.secrets.append(secret)
    return endpoint


@pytest.fixture
def endpoint(team, receiver):
    return add_endpoint(team, receiver)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed():` runs what commits would run (the worker's wake-up) at the end of
    the block, as they would after a real commit; the immediate backend delivers then."""

    @contextmanager
    def block() -> Iterator[None]:
        with django_capture_on_commit_callbacks(execute=True):
            yield

    return block


@contextmanager
def later(monkeypatch, delta: timedelta) -> Iterator[None]:
    """The dashboard's clock moved on by `delta` (the receiver keeps the real one)."""
    moved = timezone.now() + delta
    with monkeypatch.context() as patch:
        patch.setattr(timezone, "now", lambda: moved)
        yield
