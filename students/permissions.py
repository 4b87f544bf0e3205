"""Who may act on a student record. Views check roles first; services check again here.

`by=None` stands for the system itself (management commands, data loaders) and is let through.
"""

from django.utils.translation import gettext as _

from registrar.choices import Role
from students.errors import StudentError


def ensure_registrar_of(user, school):
    """Only the school's own 学籍管理员 writes its records."""
    if user is None or user.is_superuser:
        return
    if not (user.has_role(Role.SCHOOL_REGISTRAR) and user.node_id == school.pk):
        raise StudentError(_("Only the registrar of this school may do this."))


def ensure_covers(user, school):
    """The user's node is the school or above it: the reviewers and administrators of its area."""
    if user is None or user.is_superuser:
        return
    if user.node_id is None or not school.path.startswith(user.node.path):
        raise StudentError(_("This student is outside your area."))
