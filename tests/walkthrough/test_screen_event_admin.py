"""SPEC W14 / A1 (issue 8): screen events in the admin, read-only, without a query per row."""

from __future__ import annotations

import html

import pytest

from tests.walkthrough.factories import ProgressFactory
from walkthrough.models import IntentBucket, ScreenEvent

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/walkthrough/screenevent/"


@pytest.fixture
def events():
    tess = ProgressFactory(tester_email="tess@example.com", intent_bucket="directional", current_screen=4)
    ScreenEvent.objects.create(progress=tess, screen=1)
    ScreenEvent.objects.create(progress=tess, screen=2)
    first = ScreenEvent.objects.create(progress=tess, screen=3, strategy_type="vertical_spread")
    for n in range(20):
        other = ProgressFactory(intent_bucket="income")
        ScreenEvent.objects.create(progress=other, screen=1 + n % 2)
    return first


def test_the_changelist_lists_events_with_tester_and_bucket(
    admin_client, events, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):  # list_select_related: no query per row
        response = admin_client.get(f"{CHANGELIST}?q=tess%40example")
    assert response.status_code == 200
    rows = response.context["cl"].result_list
    assert [(e.screen, e.strategy_type) for e in rows] == [(3, "vertical_spread"), (2, None), (1, None)]
    # The bucket's label, as on every walkthrough list (docs/backoffice.md "Lists show labels").
    assert html.escape(IntentBucket.DIRECTIONAL.label) in response.content.decode()
    assert admin_client.get(f"{CHANGELIST}?screen__exact=3").context["cl"].result_count == 1


def test_events_cannot_be_added_changed_or_deleted(admin_client, events):
    before = list(ScreenEvent.objects.values())

    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    page = admin_client.get(f"{CHANGELIST}{events.pk}/change/")
    assert page.status_code == 200  # the view permission shows it read-only
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.post(f"{CHANGELIST}{events.pk}/change/", {"screen": 5}).status_code == 403
    assert admin_client.post(f"{CHANGELIST}{events.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = admin_client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [events.pk], "post": "yes"}
    )
    assert bulk.status_code in {200, 302}
    assert list(ScreenEvent.objects.values()) == before
