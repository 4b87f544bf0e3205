"""The shared core's models, one module per topic:

- `tree`: the organisation tree (Organisation, Grade, SchoolClass) and `ScopedQuerySet`;
- `staff`: User, with their node and roles;
- `audit`: AuditEvent, the business-event log;
- `approvals`: the approval engine's ApprovalRequest, ApprovalStep, Decision and Holiday;
- `calendar`: BusinessCalendar, a province's dates and limits.

Everything is importable from `registrar.models` as before.
"""

from registrar.choices import (
    EDITABLE_STATES,
    OPEN_STATES,
    REVIEW_STATES,
    ApprovalState,
    DecisionAction,
    StepState,
)
from registrar.models.approvals import (
    ApprovalRequest,
    ApprovalRequestQuerySet,
    ApprovalStep,
    ApprovalSubject,
    Decision,
    Holiday,
    duty_conflicts_of,
)
from registrar.models.audit import AuditEvent, AuditEventQuerySet
from registrar.models.calendar import BUSINESS_CALENDAR_DEFAULTS, BusinessCalendar, BusinessCalendarQuerySet
from registrar.models.staff import StaffManager, User, UserQuerySet
from registrar.models.tree import (
    GRADE_NAMES,
    SCHOOL_SYSTEM_RE,
    VOCATIONAL_GRADE_NAMES,
    Grade,
    GradeQuerySet,
    Organisation,
    OrganisationQuerySet,
    SchoolClass,
    SchoolClassQuerySet,
    ScopedQuerySet,
    default_capacity,
    grade_name,
    join_grade_and_class,
    parse_school_system,
)

__all__ = [
    "BUSINESS_CALENDAR_DEFAULTS",
    "EDITABLE_STATES",
    "GRADE_NAMES",
    "OPEN_STATES",
    "REVIEW_STATES",
    "SCHOOL_SYSTEM_RE",
    "VOCATIONAL_GRADE_NAMES",
    "ApprovalRequest",
    "ApprovalRequestQuerySet",
    "ApprovalState",
    "ApprovalStep",
    "ApprovalSubject",
    "AuditEvent",
    "AuditEventQuerySet",
    "BusinessCalendar",
    "BusinessCalendarQuerySet",
    "Decision",
    "DecisionAction",
    "Grade",
    "GradeQuerySet",
    "Holiday",
    "Organisation",
    "OrganisationQuerySet",
    "SchoolClass",
    "SchoolClassQuerySet",
    "ScopedQuerySet",
    "StaffManager",
    "StepState",
    "User",
    "UserQuerySet",
    "default_capacity",
    "duty_conflicts_of",
    "grade_name",
    "join_grade_and_class",
    "parse_school_system",
]
