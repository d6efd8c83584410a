"""Walkthrough actors: testers holding a Bearer token on each track."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from walkthrough.models import Progress, Track
from walkthrough.services import walkthrough_token_issue

API = "/api/walkthrough/"


@pytest.fixture(autouse=True)
def _fresh_throttle():
    """Failed-auth counts live in the cache; no test inherits another's failures."""
    cache.clear()
    yield
    cache.clear()


@dataclass
class TesterActor:
    progress: Progress
    token: str
    client: APIClient

    def get(self, screen: str = ""):
        return self.client.get(API + screen)

    def post(self, screen: str, body=None, **kwargs):
        return self.client.post(API + screen, body if body is not None else {}, format="json", **kwargs)

    def refresh(self) -> Progress:
        self.progress.refresh_from_db()
        return self.progress


@pytest.fixture
def make_tester(db):
    def _make(email: str = "tess@example.com", track: str = Track.FULL) -> TesterActor:
        progress, raw = walkthrough_token_issue(email=email, track=track)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return TesterActor(progress, raw, client)

    return _make


@pytest.fixture
def tess(make_tester) -> TesterActor:
    """A full-track tester."""
    return make_tester("tess@example.com", Track.FULL)


@pytest.fixture
def sam(make_tester) -> TesterActor:
    """A self-select tester."""
    return make_tester("sam@example.com", Track.SELF_SELECT)


def with_bucket(actor: TesterActor, bucket: str | None, *, screen: int = 3) -> TesterActor:
    """The tester past the door with `bucket`, at `screen` (default: the builder, SPEC W13)."""
    Progress.objects.filter(pk=actor.progress.pk).update(intent_bucket=bucket, current_screen=screen)
    actor.refresh()
    return actor
