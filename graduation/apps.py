from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GraduationConfig(AppConfig):
    name = "graduation"
    verbose_name = _("Graduation")

    def ready(self):
        from django.urls import reverse

        from graduation import aftercare, services
        from graduation.models import CaseKind
        from registrar.approvals import ApprovalKind, register_kind
        from registrar.events import register_actions

        register_kind(
            ApprovalKind(
                services.LIST_KIND,
                _("Graduation list"),
                on_approved=services.apply_list,
                validate_submit=services.validate_submit,
                subject_label=services.list_label,
                context=services.list_context,
                get_absolute_url=lambda approval: reverse(
                    "graduation:list", args=[approval.graduation_list.pk]
                ),
                # A whole school's graduation is decided on the list's own page, its students in view.
                allow_bulk_approve=False,
            )
        )
        for kind, label in (
            (CaseKind.EXCHANGE, _("Completion exchanged for graduation")),
            (CaseKind.REVERSAL, _("Graduation reversal")),
        ):
            register_kind(
                ApprovalKind(
                    aftercare.CASE_KINDS[kind],
                    label,
                    on_approved=aftercare.apply_case,
                    validate_submit=aftercare.validate_case,
                    subject_label=aftercare.case_label,
                    context=aftercare.case_context,
                    get_absolute_url=lambda approval: reverse(
                        "graduation:case", args=[approval.certificate_case.pk]
                    ),
                    allow_bulk_approve=kind == CaseKind.EXCHANGE,
                )
            )
        register_actions(
            {
                "graduation.results.imported": _("Graduation results imported"),
                "graduation.list.proposed": _("Graduation list proposed"),
                "graduation.list.applied": _("Graduation list applied"),
                "graduation.entry.changed": _("Graduation list: outcome or destination changed"),
                "graduation.entry.added": _("Graduation list: student added"),
                "graduation.entry.deleted": _("Graduation list: student struck off"),
                "graduation.entry.taken_out": _("Graduation list: student taken out by a reviewer"),
                "graduation.student.left": _("Graduated, completed or left with a certificate"),
                "graduation.certificate.withheld": _("Certificate withheld"),
                "graduation.certificate.released": _("Withheld certificate released"),
                "graduation.exchange.started": _("Exchange of a completion started"),
                "graduation.exchange.applied": _("Completion exchanged for graduation"),
                "graduation.reversal.started": _("Graduation reversal started"),
                "graduation.reversal.applied": _("Graduation reversed"),
                "graduation.audit.exported": _("Graduation audit exported"),
                "graduation.documents.exported": _("Graduation documents exported"),
                "graduation.proof.printed": _("Graduation proof printed"),
            }
        )

    def nav_items(self, user):
        from graduation.views import nav_items

        return nav_items(user)

    def waiting_items(self, user):
        from graduation.views import waiting_items

        return waiting_items(user)
