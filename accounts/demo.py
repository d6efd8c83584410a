"""Demo accounts for `make run` only: the password is public, never use it in production."""

from __future__ import annotations

from accounts.models import User

DEMO_ADMIN = ("admin", "raxx-demo-admin")


def seed_admin() -> tuple[str, str]:
    username, password = DEMO_ADMIN
    user, created = User.objects.get_or_create(
        username=username, defaults={"email": "admin@example.com", "is_staff": True, "is_superuser": True}
    )
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    return username, password
