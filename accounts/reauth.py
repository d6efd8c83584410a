"""A fresh code before sensitive actions (SPEC P1): flag changes, invites, token issue, sign-off, exports.

A correct code entered in this session within ADMIN_CODE_FRESH_SECONDS (the login's own code
counts) lets the request through. Otherwise the answer is a page asking for the code, and then
the original request carries on:

- GET (an export link): the page POSTs the code to the same URL; once it is right, a 303
  sends the browser back to the same GET, which now passes.
- POST (a form, an admin action): the page carries every submitted field as a hidden input and
  POSTs them back with the code (same CSRF token, same session); once it is right, the view
  runs on exactly the fields first submitted. File uploads are not carried (no guarded form
  has one).

Wrong codes count toward the django-axes lockout like wrong passwords; once locked, the session
is logged out. Use `reauth_required` on a view, a ModelAdmin view method or an admin action, or
`reauth_challenge(request)` inside a view for one branch (the funnel's CSV).
"""

from __future__ import annotations

import functools

from django.contrib import admin
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from accounts.forms import CodeForm
from accounts.second_factor import code_entered_now, code_failure_record, code_is_recent, code_match

PREFIX = "reauth"
CODE_FIELD = f"{PREFIX}-code"  # CodeForm's field under PREFIX
THEN_FIELD = f"{PREFIX}-then"  # "get": the request being confirmed was a GET of this URL
# Not carried from the first POST: ours, and the CSRF token (the page renders a current one).
OWN_FIELDS = (CODE_FIELD, THEN_FIELD, "csrfmiddlewaretoken")
WRONG_CODE = "That code is not right. Enter the current code from your app, or a backup code."


def reauth_challenge(request: HttpRequest) -> HttpResponse | None:
    """None when the request may go on (its code is fresh, or it just brought a right one)."""
    if request.method == "POST" and CODE_FIELD in request.POST:
        then_get = request.POST.get(THEN_FIELD) == "get"
        fresh = code_is_recent(request)
        if not fresh:
            outcome = _check_code(request)
            if outcome is not None:
                return outcome
        if then_get:
            return HttpResponseRedirect(request.get_full_path(), status=303)
        request.POST = _without_own_fields(request)
        return None
    if code_is_recent(request):
        return None
    return _code_page(request, form=CodeForm(prefix=PREFIX), status=200)


def reauth_required(view):
    """Decorator for a view function, a view method or an admin action (it finds the request)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        request = next(arg for arg in args if isinstance(arg, HttpRequest))
        challenge = reauth_challenge(request)
        if challenge is not None:
            return challenge
        return view(*args, **kwargs)

    return wrapper


def _check_code(request: HttpRequest) -> HttpResponse | None:
    form = CodeForm(request.POST, prefix=PREFIX)
    user = request.user
    if form.is_valid() and code_match(user=user, code=form.cleaned_data["code"]) is not None:
        code_entered_now(request=request)
        return None
    if code_failure_record(request=request, username=user.get_username()):
        # Locked out as after five wrong passwords: the session ends too, and django-axes
        # turns this answer into its lockout response.
        logout(request)
        return HttpResponseRedirect(reverse("admin:login"))
    if "code" not in form.errors:
        form.add_error("code", WRONG_CODE)
    return _code_page(request, form=form, status=400)


def _without_own_fields(request: HttpRequest):
    data = request.POST.copy()
    for name in OWN_FIELDS:
        data.pop(name, None)
    data._mutable = False
    return data


def _code_page(request: HttpRequest, *, form: CodeForm, status: int) -> TemplateResponse:
    carried = (
        []
        if request.method != "POST"
        else [
            (name, value)
            for name, values in request.POST.lists()
            if name not in OWN_FIELDS
            for value in values
        ]
    )
    context = {
        **admin.site.each_context(request),
        "title": "Enter your code to continue",
        "form": form,
        "action": request.get_full_path(),
        "carried": carried,
        "then_get": request.method != "POST",
        "then_field": THEN_FIELD,
    }
    response = TemplateResponse(request, "admin/accounts/reauth.html", context, status=status)
    add_never_cache_headers(response)
    return response
