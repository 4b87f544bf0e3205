from django import template

from students.privacy import mask_id, mask_number

register = template.Library()


@register.filter
def masked(number):
    return mask_id(number)


@register.filter
def masked_number(number):
    return mask_number(number)
