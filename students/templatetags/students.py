from django import template

from registrar.models import join_grade_and_class
from students.privacy import mask_id, mask_number

register = template.Library()


@register.filter
def grade_class(grade_label, class_name):
    """二年级1班 in Chinese; in English "Grade 2 1班" would run together: a space between."""
    return join_grade_and_class(grade_label, class_name)


@register.filter
def masked(number):
    return mask_id(number)


@register.filter
def masked_number(number):
    return mask_number(number)
