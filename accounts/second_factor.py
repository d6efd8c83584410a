"""Staff second factor (SPEC P1): one-time codes from django-otp devices, and their freshness.

A staff session is verified once a code from one of the user's confirmed devices (a TOTP app
or a static backup code from `manage.py addstatictoken USERNAME`) was entered. The session
also keeps when a code was last entered: sensitive actions want one from the last
ADMIN_CODE_FRESH_SECONDS (accounts/reauth.py). A wrong code is a failed login for
django-axes, so wrong codes and wrong passwords share one lockout.
"""

from __future__ import annotations

import io

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import HttpRequest, QueryDict
from django.utils import timezone
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

# Session key: when (epoch seconds) this session last had a correct code typed into it.
CODE_AT_SESSION_KEY = "raxx_code_at"
# Session key: the user who passed username and password but has no device yet (enrolment).
ENROL_SESSION_KEY = "raxx_enrol"
ENROL_DEVICE_NAME = "Authenticator app"
BACKUP_DEVICE_NAME = "Backup codes"


def code_normalise(code: str) -> str:
    """Codes are typed with spaces ("123 456") as authenticator apps show them."""
    return "".join(code.split())


def code_match(*, user, code: str) -> Device | None:
    """The confirmed device of `user` that accepts `code` (each code works once), or None.

    Every device sees the attempt, so django-otp's per-device throttle and TOTP replay guard
    apply whichever device the code was meant for.
    """
    code = code_normalise(code)
    if not code or len(code) > 32:
        return None
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=True, for_verify=True):
            if device.verify_token(code):
                return device
    return None


def user_has_device(*, user) -> bool:
    return any(True for _ in devices_for_user(user, confirmed=True))


def code_failure_record(*, request: HttpRequest, username: str) -> bool:
    """Count a wrong code as a failed login (django-axes); True when the account is now locked.

    Axes keeps the request's form fields in its log: the form may carry a re-submitted form's
    data (email addresses, reasons), so the signal sees an empty form instead.
    """
    credentials = {settings.AXES_USERNAME_FORM_FIELD: username}
    posted = request.POST
    request.POST = QueryDict()
    try:
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
    finally:
        request.POST = posted
    locked = bool(getattr(request, "axes_locked_out", False))
    return locked or AxesProxyHandler.is_locked(request, credentials)


def session_mark_verified(*, request: HttpRequest, device: Device) -> None:
    """The logged-in session is verified by `device`, and a code was entered just now."""
    otp_login(request, device)
    code_entered_now(request=request)


def code_entered_now(*, request: HttpRequest) -> None:
    request.session[CODE_AT_SESSION_KEY] = timezone.now().timestamp()


def code_is_recent(request: HttpRequest) -> bool:
    """A correct code was entered in this session within ADMIN_CODE_FRESH_SECONDS."""
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_verified", lambda: False)():
        return False
    entered = request.session.get(CODE_AT_SESSION_KEY)
    if not isinstance(entered, int | float):
        return False
    age = timezone.now().timestamp() - entered
    return 0 <= age <= settings.ADMIN_CODE_FRESH_SECONDS


def totp_enrolment_device(*, user) -> TOTPDevice:
    """The unconfirmed authenticator device that `user` is enrolling (made on first call)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=ENROL_DEVICE_NAME, confirmed=False)
    return device


def totp_enrolment_confirm(*, device: TOTPDevice, code: str) -> bool:
    """Confirm `device` when `code` is its current code; the device then counts for login."""
    code = code_normalise(code)
    if not code.isdigit() or len(code) != device.digits:
        return False
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        if not device.verify_token(code):
            return False
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    return True


def backup_code_add(*, user) -> str:
    """A new single-use backup code for `user` (what `manage.py addstatictoken` makes)."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name=BACKUP_DEVICE_NAME)
    token = StaticToken.random_token()
    device.token_set.create(token=token)
    return token


def qr_svg(data: str) -> str:
    """`data` as an inline SVG QR code: no script, no image request, nothing for the CSP to refuse."""
    import segno

    out = io.BytesIO()
    segno.make(data, error="m").save(out, kind="svg", xmldecl=False, svgns=True, scale=5, border=2)
    return out.getvalue().decode()
