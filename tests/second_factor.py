"""Staff logins with a verified second factor, for every admin test (SPEC P1).

Django test clients: `staff_login(client, user)` (also the `staff_login` fixture) logs the user in
and marks the session verified by a backup-code device, with a code entered just now, so
re-auth-guarded actions pass too. Chromium: `tests/e2e/conftest.py::admin_login` types a real
TOTP code from `totp_code(user)`.
"""

from __future__ import annotations

import time

from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.second_factor import CODE_AT_SESSION_KEY, backup_code_add


def staff_login(client, user):
    """`staff_login(client, user)` plus a second factor verified now; returns the client."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name="Test backup codes")
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session[CODE_AT_SESSION_KEY] = timezone.now().timestamp()
    session.save()
    return client


def totp_device(user) -> TOTPDevice:
    """The user's confirmed authenticator device (made on first call)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="Test app", confirmed=True)


def totp_code(user, *, offset_steps: int = 0) -> str:
    """The code the user's app shows now (`offset_steps` 30 s steps later: each code works once)."""
    device = totp_device(user)
    generator = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    generator.time = time.time() + offset_steps * device.step
    return f"{generator.token():0{device.digits}d}"


def backup_code(user) -> str:
    """A fresh single-use backup code for the user, as `manage.py addstatictoken` prints one."""
    return backup_code_add(user=user)
