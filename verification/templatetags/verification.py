from django import template

register = template.Library()


@register.filter
def count(counts, key):
    """A count of a defaultdict-like mapping, 0 when absent (templates cannot call .get)."""
    return counts.get(key, 0)
