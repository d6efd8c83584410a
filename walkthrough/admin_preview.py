"""Back office: the operators' preview of every W5 row and the copy sign-off (SPEC W16).

`/admin/walkthrough/copysignoff/` lists the sign-offs (who, when, note, which release); its
`preview/` page lists the five matrix rows with the current release's sign-off state and the
sign-off form, and `preview/<row>/` shows screens 1-5 of one row. Preview and sign-off are for
operators only: an analyst (view permissions only, SPEC A4) gets a 403.
"""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from accounts.reauth import reauth_challenge
from core.errors import ConflictError, RuleViolation
from walkthrough import preview, scenarios, services
from walkthrough.models import CopySignoff

NOTE_MAX_LENGTH = 2000


@admin.register(CopySignoff)
class CopySignoffAdmin(admin.ModelAdmin):
    list_display = ["copy_version", "operator_label", "signed_at", "note", "files"]
    list_select_related = False
    fields = ["copy_version", "copy_digest", "operator_label", "signed_at", "note"]
    readonly_fields = fields
    change_list_template = "admin/walkthrough/copysignoff/change_list.html"

    # Append-only: a sign-off is recorded on the preview page or by `manage.py copy_signoff`.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="files (SHA-256)")
    def files(self, obj: CopySignoff) -> str:
        return obj.copy_digest[:12]

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("preview/", view(self.preview_view), name="walkthrough_preview"),
            path("preview/<slug:row>/", view(self.preview_row_view), name="walkthrough_preview_row"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "may_preview": _is_operator(request)}
        return super().changelist_view(request, extra_context)

    def _context(self, request, title: str) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "copy_version": scenarios.copy_version(),
            "copy_digest": scenarios.copy_digest(),
        }

    def preview_view(self, request):
        """The five rows, the current release's sign-off, and the sign-off form (POST)."""
        _require_operator(request)
        context = self._context(request, "Walkthrough preview and copy sign-off")
        status = 200
        # A sign-off opens invitations: it needs a second-factor code within 10 minutes (SPEC P1).
        if request.method == "POST" and (challenge := reauth_challenge(request)) is not None:
            return challenge
        if request.method == "POST":
            note = request.POST.get("note", "")[:NOTE_MAX_LENGTH]
            try:
                services.copy_signoff_record(operator=request.user, note=note)
            except RuleViolation as refused:
                context["signoff_error"] = " ".join(m for ms in refused.detail.values() for m in ms)
                status = 400
            except ConflictError as refused:
                context["signoff_error"] = refused.detail
                status = 409
            else:
                messages.success(request, f"Signed off the walkthrough copy {scenarios.copy_version()}.")
                return HttpResponseRedirect(reverse("admin:walkthrough_preview"))
        context.update(
            rows=[{"row": row, "served": row.served} for row in preview.MATRIX_ROWS],
            signoff=services.copy_signoff_current(),
            history=CopySignoff.objects.all()[:10],
        )
        return TemplateResponse(request, "admin/walkthrough/preview/index.html", context, status=status)

    def preview_row_view(self, request, row: str):
        """Screens 1-5 of one matrix row, as a tester on that row receives them."""
        _require_operator(request)
        matrix_row = preview.ROWS_BY_KEY.get(row)
        if matrix_row is None:
            raise Http404("No such matrix row.")
        shown, trade = preview.row_screens(matrix_row)
        context = self._context(request, f"Preview: {matrix_row.served.scenario.replace('_', ' ')} row")
        context.update(
            row=matrix_row,
            served=matrix_row.served,
            screens=[
                {"screen": screen, "json": json.dumps(screen.payload, indent=2, ensure_ascii=False)}
                for screen in shown
            ],
            door=shown[0].payload,
            choices=shown[1].payload,
            scenario=shown[2].payload,
            builder=shown[3].payload,
            review=shown[4].payload,
            survey=shown[5].payload,
            picture=preview.trade_picture(trade),
            figures=preview.review_figures(shown[4].payload["review"]),
            signoff=services.copy_signoff_current(),
        )
        return TemplateResponse(request, "admin/walkthrough/preview/row.html", context)


def _is_operator(request) -> bool:
    return request.user.is_active and request.user.has_perm(services.SIGNOFF_PERMISSION)


def _require_operator(request) -> None:
    """Operators only; analysts hold view permissions and get a 403 (SPEC W16, A4)."""
    if not _is_operator(request):
        raise PermissionDenied
