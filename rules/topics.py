"""The topics of a province's rule table and how their keys read. A leaf module: no model."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Topic(models.TextChoices):
    CHAIN = "chain", _("Approval chains")
    INITIATOR = "initiator", _("Who starts a transfer")
    KINDS = "kinds", _("Status change kinds in use")
    EVIDENCE = "evidence", _("Evidence for status changes")
    CORRECTIONS = "corrections", _("Key fields and corrections")
    CORRECTION_EVIDENCE = "correction_evidence", _("Evidence for key-data corrections")
    WINDOWS = "windows", _("Transfer windows by stage and grade")
    GRADUATION = "graduation", _("Graduation dates by stage")
    DELEGATION = "delegation", _("Delegated to cities and counties")


# What each topic's key and value are, for the page.
KEY_HELP = {
    Topic.CHAIN: _("kind:scope:segment, * for any, e.g. transfers.transfer:same_county:*"),
    Topic.INITIATOR: _("segment or *"),
    Topic.KINDS: _("status change kind, e.g. repeat"),
    Topic.EVIDENCE: _("kind or kind:reason, e.g. suspension:illness"),
    Topic.CORRECTIONS: _("added_fields or input_errors_first_term_only"),
    Topic.CORRECTION_EVIDENCE: _("reason:field, * for any field, e.g. life_change:name"),
    Topic.WINDOWS: _("segment or segment:grade, e.g. junior:9"),
    Topic.GRADUATION: _("freeze:segment or deadline:segment, e.g. freeze:senior"),
    Topic.DELEGATION: _("a topic, e.g. chain"),
}
VALUE_HELP = {
    Topic.CHAIN: _(
        "role@node steps separated by commas, e.g. principal@school, county_reviewer@county(school)"
    ),
    Topic.INITIATOR: _("receiving, current or either"),
    Topic.KINDS: _("the segments it is open to separated by commas, * for all, empty for none"),
    Topic.EVIDENCE: _("items separated by ;, each any of its documents separated by |"),
    Topic.CORRECTIONS: _("fields separated by commas (added_fields), or yes/no"),
    Topic.CORRECTION_EVIDENCE: _("items separated by ;, each any of its documents separated by |"),
    Topic.WINDOWS: _("MM-DD..MM-DD separated by commas, or none"),
    Topic.GRADUATION: _("MM-DD"),
    Topic.DELEGATION: _("yes or no"),
}

INITIATOR_CHOICES = ("receiving", "current", "either")
NO_WINDOW = "none"
YES = "yes"
