"""Access helpers of the campaign: 404 outside the user's scope, then 403 without the role."""

from django.http import Http404
from django.shortcuts import get_object_or_404

from registrar.access import get_class_for, require_role
from students.models import Student, sees_own_classes_only
from verification.models import Campaign, ConfirmationForm


def get_campaign_for(user, pk, *, roles=()):
    campaign = get_object_or_404(Campaign.objects.visible_to(user).select_related("node", "opened_by"), pk=pk)
    require_role(user, roles)
    return campaign


def get_campaign_class_for(user, pk, class_pk, *, roles=()):
    """The campaign and one of its classes; a class teacher reaches only the classes they lead."""
    campaign = get_campaign_for(user, pk)
    school_class = get_class_for(user, class_pk)
    school = school_class.grade.school
    if not school.path.startswith(campaign.node.path) or school.pk == campaign.node_id:
        raise Http404
    if sees_own_classes_only(user) and not user.classes.filter(pk=school_class.pk).exists():
        raise Http404
    require_role(user, roles)
    return campaign, school_class


def get_form_for(user, pk, *, roles=()):
    """A signed form, seen by whoever sees its student (a class teacher: their classes only)."""
    queryset = ConfirmationForm.objects.filter(student__in=Student.objects.visible_to(user)).select_related(
        "campaign__node", "student__school", "student__grade__school", "student__school_class", "checked_by"
    )
    form = get_object_or_404(queryset, pk=pk)
    require_role(user, roles)
    return form
