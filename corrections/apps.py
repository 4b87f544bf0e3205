from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CorrectionsConfig(AppConfig):
    name = "corrections"
    verbose_name = _("Key-data corrections")

    def ready(self):
        from django.urls import reverse

        from corrections import services
        from registrar.approvals import ApprovalKind, register_kind
        from registrar.events import register_actions

        register_kind(
            ApprovalKind(
                services.KIND,
                _("Key-data correction"),
                on_approved=services.apply_correction,
                on_submitted=services.on_submitted,
                validate_submit=services.validate_submit,
                chain_key=services.chain_key,
                get_absolute_url=lambda approval: reverse(
                    "corrections:detail", args=[approval.correction.pk]
                ),
                # A key-data correction changes who the record says the student is: each is decided
                # on its page, beside its evidence (issue #18, item 2).
                allow_bulk_approve=False,
            )
        )
        register_actions(
            {
                "corrections.correction.revised": _("Key-data correction: request changed"),
                "corrections.correction.applied": _("Key data corrected"),
                "corrections.evidence.added": _("Key-data correction: evidence image added"),
                "corrections.evidence.removed": _("Key-data correction: evidence image removed"),
                "corrections.packet.downloaded": _("Key-data correction packet downloaded"),
            }
        )

    def nav_items(self, user):
        from corrections.views import nav_items

        return nav_items(user)

    def waiting_items(self, user):
        from corrections.views import waiting_items

        return waiting_items(user)
