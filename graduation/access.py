"""Access helpers of graduation: 404 outside the user's scope, then 403 without the role."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from graduation.models import Certificate, CertificateCase, GraduationList, ResultImport
from registrar.access import require_role
from registrar.choices import Role

# Who works with graduation: the school's office and the bureaus above it; class teachers do not.
ROLES = (Role.SCHOOL_REGISTRAR, Role.PRINCIPAL, Role.COUNTY_REVIEWER, Role.CITY_REVIEWER, Role.PROVINCE_ADMIN)
REGISTRAR = (Role.SCHOOL_REGISTRAR,)


def get_list_for(user, pk, *, roles=ROLES):
    queryset = GraduationList.objects.visible_to(user).select_related(
        "school", "approval__current_step__node", "approval__applicant"
    )
    graduation_list = get_object_or_404(queryset, pk=pk)
    require_role(user, roles)
    return graduation_list


def get_certificate_for(user, pk, *, roles=ROLES):
    queryset = Certificate.objects.visible_to(user).select_related(
        "student__grade", "student__school_class", "school"
    )
    certificate = get_object_or_404(queryset, pk=pk)
    require_role(user, roles)
    return certificate


def get_case_for(user, pk, *, roles=ROLES):
    queryset = CertificateCase.objects.visible_to(user).select_related(
        "student", "certificate", "new_certificate"
    )
    case = get_object_or_404(queryset, pk=pk)
    require_role(user, roles)
    return case


def get_import_for(user, pk):
    """The results file's errors are the registrar's, of the school that uploaded it."""
    record = get_object_or_404(ResultImport.objects.visible_to(user).select_related("school"), pk=pk)
    if not (user.has_role(Role.SCHOOL_REGISTRAR) and user.node_id == record.school_id):
        raise PermissionDenied
    return record
