"""`{% approval_panel approval as panel %}`: the data of the approval panel for the current user."""

from django import template

from registrar import approvals

register = template.Library()


@register.simple_tag(takes_context=True)
def approval_panel(context, approval):
    return approvals.panel(approval, context["request"].user)
