"""Choice tables of the shared core: node kinds, school stages, staff roles."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class NodeKind(models.TextChoices):
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    COUNTY = "county", _("County")
    TOWNSHIP = "township", _("Township central school")
    SCHOOL = "school", _("School")


# Which kinds of node may sit directly above each kind. A school may be run by a city (市直学校),
# a county (县直学校) or sit under a township central school.
ALLOWED_PARENTS = {
    NodeKind.PROVINCE: set(),
    NodeKind.CITY: {NodeKind.PROVINCE},
    NodeKind.COUNTY: {NodeKind.CITY},
    NodeKind.TOWNSHIP: {NodeKind.COUNTY},
    NodeKind.SCHOOL: {NodeKind.CITY, NodeKind.COUNTY, NodeKind.TOWNSHIP},
}

# Region nodes carry the 6-digit administrative division code; schools and township central
# schools the 10-digit 学校标识码.
CODE_LENGTH = {
    NodeKind.PROVINCE: 6,
    NodeKind.CITY: 6,
    NodeKind.COUNTY: 6,
    NodeKind.TOWNSHIP: 10,
    NodeKind.SCHOOL: 10,
}


class Stage(models.TextChoices):
    PRIMARY = "primary", _("Primary school")
    JUNIOR = "junior", _("Junior secondary")
    SENIOR = "senior", _("Senior secondary")
    NINE_YEAR = "nine_year", _("Nine-year school")
    COMPLETE = "complete", _("Complete secondary")
    TWELVE_YEAR = "twelve_year", _("Twelve-year school")
    VOCATIONAL = "vocational", _("Secondary vocational")
    SPECIAL = "special", _("Special education")


class Segment(models.TextChoices):
    """The parts of schooling a stage covers; a 学制 such as 6-3-3 gives each its length."""

    PRIMARY = "primary", _("Primary")
    JUNIOR = "junior", _("Junior secondary")
    SENIOR = "senior", _("Senior secondary")
    VOCATIONAL = "vocational", _("Secondary vocational")
    SPECIAL = "special", _("Special education")


STAGE_SEGMENTS = {
    Stage.PRIMARY: [Segment.PRIMARY],
    Stage.JUNIOR: [Segment.JUNIOR],
    Stage.SENIOR: [Segment.SENIOR],
    Stage.NINE_YEAR: [Segment.PRIMARY, Segment.JUNIOR],
    Stage.COMPLETE: [Segment.JUNIOR, Segment.SENIOR],
    Stage.TWELVE_YEAR: [Segment.PRIMARY, Segment.JUNIOR, Segment.SENIOR],
    Stage.VOCATIONAL: [Segment.VOCATIONAL],
    Stage.SPECIAL: [Segment.SPECIAL],
}

# Compulsory education: students of these segments cannot be withdrawn or expelled.
COMPULSORY_SEGMENTS = {Segment.PRIMARY, Segment.JUNIOR, Segment.SPECIAL}


class Role(models.TextChoices):
    SCHOOL_REGISTRAR = "school_registrar", _("School registrar")
    CLASS_TEACHER = "class_teacher", _("Class teacher")
    PRINCIPAL = "principal", _("Principal")
    # The 乡镇中心校 that reviews its rural schools' cases where the province's chain asks for it.
    TOWNSHIP_REVIEWER = "township_reviewer", _("Township central school reviewer")
    COUNTY_REVIEWER = "county_reviewer", _("County reviewer")
    CITY_REVIEWER = "city_reviewer", _("City reviewer")
    PROVINCE_ADMIN = "province_admin", _("Province administrator")


ROLE_NODE_KINDS = {
    Role.SCHOOL_REGISTRAR: {NodeKind.SCHOOL},
    Role.CLASS_TEACHER: {NodeKind.SCHOOL},
    Role.PRINCIPAL: {NodeKind.SCHOOL},
    Role.TOWNSHIP_REVIEWER: {NodeKind.TOWNSHIP},
    Role.COUNTY_REVIEWER: {NodeKind.COUNTY},
    Role.CITY_REVIEWER: {NodeKind.CITY},
    Role.PROVINCE_ADMIN: {NodeKind.PROVINCE},
}


# --- The approval engine -----------------------------------------------------------------------


class ApprovalState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    IN_REVIEW = "in_review", _("In review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    RETURNED = "returned", _("Returned for revision")
    WITHDRAWN = "withdrawn", _("Withdrawn by the applicant")


# Waiting for a reviewer's decision.
REVIEW_STATES = (ApprovalState.SUBMITTED, ApprovalState.IN_REVIEW)
# Not finished: counts as 在办业务 for the case it belongs to.
OPEN_STATES = (ApprovalState.DRAFT, ApprovalState.SUBMITTED, ApprovalState.IN_REVIEW, ApprovalState.RETURNED)


class StepState(models.TextChoices):
    WAITING = "waiting", _("Waiting for its turn")
    CURRENT = "current", _("Being reviewed")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    RETURNED = "returned", _("Returned for revision")
    SKIPPED = "skipped", _("Not reached")


class DecisionAction(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    RETURNED = "returned", _("Returned for revision")
    WITHDRAWN = "withdrawn", _("Withdrawn by the applicant")
    RESUBMITTED = "resubmitted", _("Resubmitted")


# The applicant may change the case only while no reviewer holds it.
EDITABLE_STATES = (ApprovalState.DRAFT, ApprovalState.RETURNED)
