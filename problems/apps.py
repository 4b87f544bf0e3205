from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProblemsConfig(AppConfig):
    name = "problems"
    verbose_name = _("Problem records")

    def ready(self):
        from django.urls import reverse

        from corrections import services as corrections
        from problems import services
        from registrar.approvals import ApprovalKind, register_kind
        from registrar.events import register_actions

        register_kind(
            ApprovalKind(
                services.KIND,
                _("Problem record resolution"),
                on_approved=services.apply_resolution,
                validate_submit=services.validate_submit,
                subject_label=services.resolution_label,
                get_absolute_url=lambda approval: reverse(
                    "problems:resolution", args=[approval.problem_resolution.pk]
                ),
                # 佐证 and 删除 are decided beside their evidence, one by one (source 000: 严格把关).
                allow_bulk_approve=False,
            )
        )
        # 变更: a correction opened from a problem record closes it once applied.
        corrections.register_applied_hook(services.close_for_correction)
        register_actions(
            {
                "problems.detection.run": _("Problem records detected"),
                "problems.problem.closed": _("Problem record closed"),
                "problems.evidence.added": _("Problem record: evidence image added"),
                "problems.evidence.removed": _("Problem record: evidence image removed"),
                "problems.evidence.opened": _("Problem record: evidence image opened"),
                "problems.correction.linked": _("Problem record: key-data correction opened (变更)"),
            }
        )

    def nav_items(self, user):
        from problems.views import nav_items

        return nav_items(user)

    def waiting_items(self, user):
        from problems.views import waiting_items

        return waiting_items(user)

    def summary_items(self, user):
        from problems.views import summary_items

        return summary_items(user)
