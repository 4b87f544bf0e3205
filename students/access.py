"""Access helper for students: 404 outside the user's scope, then 403 without the role."""

from django.shortcuts import get_object_or_404

from registrar.access import require_role
from students.models import Student


def get_student_for(user, pk, *, roles=()):
    queryset = Student.objects.visible_to(user).select_related("school", "grade__school", "school_class")
    student = get_object_or_404(queryset, pk=pk)
    require_role(user, roles)
    return student
