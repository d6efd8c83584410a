"""The back office's forms for the walkthrough: the invite page's list of addresses (SPEC A8)."""

from __future__ import annotations

import re

from django import forms

from core.errors import RuleViolation
from walkthrough import services
from walkthrough.models import Progress, Track

MAX_INVITES = 500


class InviteForm(forms.Form):
    emails = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 12, "cols": 60}),
        max_length=MAX_INVITES * 260,
        help_text=f"One address per line, or separated by commas or spaces; up to {MAX_INVITES}.",
    )
    track = forms.ChoiceField(choices=Track.choices, initial=Track.FULL, widget=forms.RadioSelect)

    def clean_emails(self) -> list[str]:
        emails, invalid = [], []
        for item in re.split(r"[\s,;]+", self.cleaned_data["emails"]):
            if not item:
                continue
            try:
                email = services.normalize_email(item)
            except RuleViolation:
                invalid.append(item)
                continue
            if email not in emails:
                emails.append(email)
        if invalid:
            raise forms.ValidationError(
                [f"Not a valid email address: {item}" for item in invalid]
                + ["Nothing was issued: correct or remove these addresses and send the list again."]
            )
        if not emails:
            raise forms.ValidationError("Enter at least one email address.")
        if len(emails) > MAX_INVITES:
            raise forms.ValidationError(
                f"At most {MAX_INVITES} addresses at a time; this list has {len(emails)}. "
                "Nothing was issued: split the list."
            )
        return emails

    def clean(self):
        data = super().clean()
        if "emails" in data and data.get("track"):
            # A re-issue keeps the tester's track (walkthrough_token_issue): say so before issuing.
            other = (
                Progress.objects.filter(tester_email__in=data["emails"])
                .exclude(track=data["track"])
                .order_by("tester_email")
                .values_list("tester_email", "track")
            )
            errors = [
                f"{email} is already a tester on the {Track(track).label} track; a re-issue keeps the track."
                for email, track in other
            ]
            if errors:
                self.add_error(
                    "emails", [*errors, "Nothing was issued: invite these addresses with their own track."]
                )
        return data
