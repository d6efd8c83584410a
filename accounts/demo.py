"""Demo accounts for `make run` only: the passwords are public, never use them in production."""

from __future__ import annotations

from importlib import import_module

from django.apps import apps
from django.contrib.auth.models import Permission
from django.utils.module_loading import module_has_submodule

from accounts.models import User
from accounts.second_factor import backup_code_add

DEMO_ADMIN = ("admin", "raxx-demo-admin")
# A staff user who runs the programme without being a superuser: invites, flags, exports.
DEMO_OPERATOR = ("operator", "raxx-demo-operator")
OPERATOR_APPS = ("walkthrough", "flags", "journal")


def _staff(username: str, password: str, **defaults) -> User:
    user, created = User.objects.get_or_create(
        username=username, defaults={"email": f"{username}@example.com", "is_staff": True, **defaults}
    )
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def seed_admin() -> list[tuple[str, str, str]]:
    """The demo admin and operator, each with a fresh backup code for the admin's second factor.

    (username, password, backup code) per account; each run adds one more single-use code.
    """
    admin = _staff(*DEMO_ADMIN, is_superuser=True)
    operator = _staff(*DEMO_OPERATOR)
    operator.user_permissions.set(Permission.objects.filter(content_type__app_label__in=OPERATOR_APPS))
    return [
        (DEMO_ADMIN[0], DEMO_ADMIN[1], backup_code_add(user=admin)),
        (DEMO_OPERATOR[0], DEMO_OPERATOR[1], backup_code_add(user=operator)),
    ]


def apps_seed(*, stdout) -> None:
    """Every other installed app's demo rows: each declares them in its own `demo.py` as
    `seed_demo(*, stdout)`, so accounts seeds them without importing any app (INSTALLED_APPS order)."""
    for config in apps.get_app_configs():
        if config.name == __package__ or not module_has_submodule(config.module, "demo"):
            continue
        seed = getattr(import_module(f"{config.name}.demo"), "seed_demo", None)
        if seed is not None:
            seed(stdout=stdout)
