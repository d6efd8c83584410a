"""The staff login (SPEC P1): username, password and a one-time code on one page."""

from __future__ import annotations

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError

from accounts.second_factor import code_failure_record, code_match, user_has_device

INVALID_LOGIN = (
    "Please enter the correct username, password and code for a staff account. The code comes "
    "from your authenticator app, or is one of your backup codes."
)
CODE_HELP = "From your authenticator app, or a backup code. Leave empty only to set up your first app."


def code_field(*, required: bool) -> forms.CharField:
    return forms.CharField(
        label="Code",
        required=required,
        max_length=32,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "size": 12}),
    )


class StaffLoginForm(AdminAuthenticationForm):
    """Wrong password or wrong code: the same message and the same django-axes count.

    `device` is the device that accepted the code, or None for a staff user who has none yet
    (the view sends them to enrolment instead of logging them in).
    """

    error_messages = {**AdminAuthenticationForm.error_messages, "invalid_login": INVALID_LOGIN}
    code = code_field(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].help_text = CODE_HELP
        self.device = None

    def clean(self):
        cleaned = super().clean()  # password (and the axes lockout) first
        user = self.get_user()
        if user is None or not user_has_device(user=user):
            return cleaned
        self.device = code_match(user=user, code=cleaned.get("code") or "")
        if self.device is None:
            code_failure_record(request=self.request, username=user.get_username())
            raise ValidationError(self.error_messages["invalid_login"], code="invalid_login")
        return cleaned


class CodeForm(forms.Form):
    """One code, for enrolment and for re-entering it before a sensitive action."""

    code = code_field(required=True)
