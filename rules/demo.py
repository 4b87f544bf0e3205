"""The demo's rules: the province lets its cities set their own chains and who starts a transfer, and
宜昌市 uses both, so that its difference from 武汉市 shows (金乡's township review, 顺德's
current-school transfers: issue #16). Running it again changes nothing."""

from registrar.models import Organisation
from rules.models import Rule
from rules.topics import YES, Topic

PROVINCE, YICHANG = "420000", "420500"


def _county(name):
    return f"county_reviewer@county({name})|city_reviewer@city({name})"


DEMO_RULES = {
    PROVINCE: {Topic.DELEGATION: {str(Topic.CHAIN): YES, str(Topic.INITIATOR): YES}},
    YICHANG: {
        # The student's current school starts a transfer; the receiving school's registrar accepts it.
        Topic.INITIATOR: {"*": "current"},
        Topic.CHAIN: {
            # Rural primary schools: the township central school reviews before the county.
            "*:*:primary": f"principal@school, township_reviewer@township(school)?, {_county('school')}",
            "transfers.transfer:same_county:*": (
                f"principal@sending_school, school_registrar@receiving_school, {_county('receiving_school')}"
            ),
            "transfers.transfer:other_county:*": (
                f"principal@sending_school, {_county('sending_school')}, school_registrar@receiving_school, "
                f"{_county('receiving_school')}"
            ),
        },
    },
}


def seed_rules():
    created = 0
    for code, topics in DEMO_RULES.items():
        node = Organisation.objects.filter(code=code).first()
        if node is None:
            continue
        for topic, rows in topics.items():
            for key, value in rows.items():
                _rule, made = Rule.objects.get_or_create(
                    node=node, topic=str(topic), key=key, defaults={"value": value}
                )
                created += made
    return created
