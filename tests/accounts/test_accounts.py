"""SPEC A4: the read-only Analyst group; analysts read cohorts but change nothing."""

from __future__ import annotations

import importlib

import pytest
from django.contrib.auth.models import Group

from accounts.services import ANALYST_GROUP
from tests.factories import MigrationEditor

pytestmark = pytest.mark.django_db


def test_analyst_group_has_view_permissions_only():
    group = Group.objects.get(name=ANALYST_GROUP)
    codenames = set(group.permissions.values_list("content_type__app_label", "codename"))
    assert codenames, "the Analyst group must be able to read something"
    assert all(codename.startswith("view_") for _, codename in codenames)
    assert {("walkthrough", "view_progress"), ("journal", "view_tradesentimentlabel")} <= codenames
    assert {app for app, _ in codenames} <= {"walkthrough", "journal", "flags"}


def test_sync_is_idempotent_and_strips_stray_write_permissions():
    from django.apps import apps
    from django.contrib.auth.models import Permission

    migration = importlib.import_module("accounts.migrations.0003_i10_analyst_permissions")
    group = Group.objects.get(name=ANALYST_GROUP)
    group.permissions.add(Permission.objects.get(codename="change_progress"))
    migration.sync(apps, MigrationEditor)
    migration.sync(apps, MigrationEditor)
    assert not group.permissions.exclude(codename__startswith="view_").exists()


def test_data_migration_creates_and_removes_the_group():
    from django.apps import apps

    migration = importlib.import_module("accounts.migrations.0002_analyst_group")
    migration.delete_group(apps, None)
    assert not Group.objects.filter(name=ANALYST_GROUP).exists()
    migration.create_group(apps, None)
    migration.create_group(apps, None)  # re-running is harmless
    assert Group.objects.filter(name=ANALYST_GROUP).count() == 1


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/admin/walkthrough/progress/", 200),
        ("/admin/walkthrough/progress/cohort/", 200),
        ("/admin/walkthrough/progress/cohort/?format=csv", 200),
        ("/admin/journal/tradesentimentlabel/", 200),
        ("/admin/walkthrough/progress/add/", 403),
        ("/admin/journal/sentimenttaxonomyversion/add/", 403),
        ("/admin/accounts/user/", 403),
    ],
)
def test_analyst_reads_but_cannot_write(analyst_client, url, status):
    assert analyst_client.get(url).status_code == status


def test_the_group_is_kept_by_migrations_alone():
    """No post_migrate handler (issue 10): the permissions come from the migration itself."""
    from django.db.models.signals import post_migrate

    receivers = [str(receiver) for receiver in post_migrate._live_receivers(None)[0]]
    assert not [r for r in receivers if "analyst" in r.lower() or "accounts" in r.lower()], receivers
    migration = importlib.import_module("accounts.migrations.0003_i10_analyst_permissions")
    group = Group.objects.get(name=ANALYST_GROUP)
    group.permissions.clear()

    from django.apps import apps

    migration.sync(apps, MigrationEditor)
    codenames = set(group.permissions.values_list("content_type__app_label", "codename"))
    assert {("walkthrough", "view_progress"), ("journal", "view_tradesentimentlabel")} <= codenames
    assert all(codename.startswith("view_") for _, codename in codenames)
