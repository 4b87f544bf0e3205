"""Who sees which report. A report is about a node: the user's own or one below it (outside →
404, through registrar.access), and only for the offices that report (otherwise 403):

- 学生情况统计表 and 学籍异动 reports: a school's registrar and principal (their school, its grades
  and classes), county and city reviewers and province administrators (their node and below).
  Class teachers have their class roster; the statistics of the school are the office's.
- The queue board: county, city and province only (a school's queue is its own approvals page).
"""

from django.shortcuts import get_object_or_404

from registrar.access import get_node_for, get_school_for
from registrar.choices import Role
from registrar.models import Grade

REPORT_ROLES = (
    Role.SCHOOL_REGISTRAR,
    Role.PRINCIPAL,
    Role.COUNTY_REVIEWER,
    Role.CITY_REVIEWER,
    Role.PROVINCE_ADMIN,
)
BOARD_ROLES = (Role.COUNTY_REVIEWER, Role.CITY_REVIEWER, Role.PROVINCE_ADMIN)


def may_see_reports(user):
    return user.is_authenticated and user.node_id is not None and user.has_role(*REPORT_ROLES)


def may_see_board(user):
    return user.is_authenticated and user.node_id is not None and user.has_role(*BOARD_ROLES)


def get_report_node(user, code):
    return get_node_for(user, code, roles=REPORT_ROLES)


def get_report_grade(user, code, level):
    school = get_school_for(user, code, roles=REPORT_ROLES)
    return get_object_or_404(Grade.objects.select_related("school"), school=school, level=level)


def get_board_node(user, code):
    return get_node_for(user, code, roles=BOARD_ROLES)
