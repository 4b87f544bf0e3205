"""Access helpers: one per scoped model.

Each fetches through `visible_to(user)` first, so that anything outside the user's node is a
404 (an outsider learns nothing, not even that it exists), and only then checks the role, which
answers 403.
"""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from registrar.models import Organisation, SchoolClass


def require_role(user, roles):
    """`roles` empty means any member of staff in scope may proceed."""
    if not roles:
        return
    if not user.has_role(*roles):
        raise PermissionDenied


def get_node_for(user, code, *, roles=()):
    node = get_object_or_404(Organisation.objects.visible_to(user), code=code)
    require_role(user, roles)
    return node


def get_school_for(user, code, *, roles=()):
    node = get_object_or_404(Organisation.objects.visible_to(user).schools(), code=code)
    require_role(user, roles)
    return node


def get_class_for(user, pk, *, roles=()):
    queryset = SchoolClass.objects.visible_to(user).select_related("grade__school")
    school_class = get_object_or_404(queryset, pk=pk)
    require_role(user, roles)
    return school_class
