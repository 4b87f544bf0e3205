"""Setting a province's (or a delegated county's) rule in tests, as the rules page would."""

from rules.models import Rule


def set_rule(node, topic, key, value):
    Rule.objects.update_or_create(node=node, topic=str(topic), key=key, defaults={"value": value})
