"""The back office's admin site: every page needs a session verified by a second factor (SPEC P1).

The login takes username, password and code on one page. A staff user without a device yet
gives username and password, leaves the code empty and is sent to the enrolment page (a QR
code for an authenticator app); only a correct code from the new app logs them in. Until
then the session is not logged in at all, so no admin page answers anything but the login.
"""

from __future__ import annotations

import base64

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME, get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth.views import LoginView
from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache

from accounts.forms import CodeForm, StaffLoginForm
from accounts.second_factor import (
    ENROL_SESSION_KEY,
    code_failure_record,
    qr_svg,
    session_mark_verified,
    totp_enrolment_confirm,
    totp_enrolment_device,
    user_has_device,
)

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


class StaffLoginView(LoginView):
    form_class = StaffLoginForm
    template_name = "admin/accounts/login.html"

    def form_valid(self, form):
        if form.device is None:
            # Right password, no device yet: enrol first; the session stays logged out.
            self.request.session.cycle_key()
            self.request.session[ENROL_SESSION_KEY] = {
                "user": form.get_user().pk,
                "at": timezone.now().timestamp(),
                "next": self.get_success_url(),
            }
            return redirect("admin:accounts_enrol")
        response = super().form_valid(form)
        session_mark_verified(request=self.request, device=form.device)
        return response


class BackOfficeSite(admin.AdminSite):
    site_header = "Raxx back office"
    site_title = "Raxx back office"
    # "View site" opens the API docs: the one page here meant for people outside the admin.
    site_url = "/api/docs/"
    index_title = "Back office"

    def has_permission(self, request) -> bool:
        # OTPMiddleware gives every request's user is_verified(); a password alone is not enough.
        user = request.user
        return super().has_permission(request) and bool(getattr(user, "is_verified", lambda: False)())

    def get_urls(self):
        return [path("enrol/", self.enrol_view, name="accounts_enrol"), *super().get_urls()]

    @method_decorator(never_cache)
    def login(self, request, extra_context=None):
        if request.method == "GET" and self.has_permission(request):
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        context = {
            **self.each_context(request),
            "title": "Log in",
            "subtitle": None,
            "app_path": request.get_full_path(),
            "username": request.user.get_username(),
            **(extra_context or {}),
        }
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=self.name)
        request.current_app = self.name
        return StaffLoginView.as_view(extra_context=context)(request)

    @method_decorator(never_cache)
    def enrol_view(self, request):
        """A new staff user scans a QR code and proves it with the app's first code."""
        user = _enrolling_user(request)
        if user is None:
            return redirect("admin:login")
        device = totp_enrolment_device(user=user)
        form = CodeForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            if totp_enrolment_confirm(device=device, code=form.cleaned_data["code"]):
                pending = request.session.pop(ENROL_SESSION_KEY)
                auth_login(request, user, backend=MODEL_BACKEND)
                device.refresh_from_db()
                session_mark_verified(request=request, device=device)
                return HttpResponseRedirect(_safe_next(request, pending.get("next")))
            if code_failure_record(request=request, username=user.get_username()):
                request.session.pop(ENROL_SESSION_KEY, None)
                return redirect("admin:login")
            form.add_error("code", "That code is not the app's current one. Try the next code it shows.")
        context = {
            **self.each_context(request),
            "title": "Set up your authenticator app",
            "form": form,
            "enrol_user": user.get_username(),
            # segno's SVG is paths only: the otpauth URI (with the username) is in the pixels.
            "qr_svg": mark_safe(qr_svg(device.config_url)),  # noqa: S308
            "secret": base64.b32encode(device.bin_key).decode(),
        }
        status = 400 if form.is_bound else 200
        return TemplateResponse(request, "admin/accounts/enrol.html", context, status=status)


def _enrolling_user(request):
    pending = request.session.get(ENROL_SESSION_KEY)
    if not isinstance(pending, dict):
        return None
    age = timezone.now().timestamp() - pending.get("at", 0)
    if not 0 <= age <= settings.ADMIN_CODE_FRESH_SECONDS:
        request.session.pop(ENROL_SESSION_KEY, None)
        return None
    user = get_user_model().objects.filter(pk=pending.get("user"), is_active=True, is_staff=True).first()
    if user is None or user_has_device(user=user):
        # Someone finished this enrolment already: from now on the login wants a code.
        request.session.pop(ENROL_SESSION_KEY, None)
        return None
    return user


def _safe_next(request, url) -> str:
    hosts = {request.get_host()}
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts=hosts, require_https=request.is_secure()):
        return url
    return reverse("admin:index")
