"""The beta programme block on the admin index (SPEC A2, A8): links and headline numbers."""

from __future__ import annotations

from django import template
from django.urls import reverse

from walkthrough import funnel
from walkthrough.models import Progress

register = template.Library()


@register.inclusion_tag("admin/walkthrough/beta_programme.html", takes_context=True)
def beta_programme(context) -> dict:
    request = context["request"]
    user = request.user
    meta = Progress._meta
    if not user.has_perm(f"{meta.app_label}.view_{meta.model_name}"):
        return {"show": False}
    links = [("Funnel", reverse("admin:walkthrough_progress_cohort"), "funnel-link")]
    if user.has_perm(f"{meta.app_label}.change_{meta.model_name}"):
        links.append(("Invite testers", reverse("admin:walkthrough_progress_invite"), "invite-link"))
    if user.has_perm("flags.view_flagoverride"):
        links.append(("Feature flags", reverse("admin:flags_flagoverride_changelist"), "flags-link"))
    # One aggregate query, the same definition as the funnel's total row.
    return {"show": True, "links": links, "headline": funnel.headline()}
