"""The installation's default graduation rules per stage (domain §10), loaded by a migration.

A province replaces any of them with rules of its own in the administration (graduation.RuleSet).
- 普通高中 (Hubei, source 000): 144 credits, 思想品德与公民素养 合格, 体质健康 合格 or better.
- 中职 (Jiangxi, source 002): every planned course passed (after make-up exams), the internship
  passed and its report submitted, fees paid.
- 小学, 初中, 特殊教育: the years of the 学制 completed, and every course passed where results were loaded.
- Always: enrolled, in the final grade, no request in progress, no unresolved problem record, a photo.
"""

PRECONDITIONS = [
    {"check_name": "enrolled"},
    {"check_name": "final_grade"},
    {"check_name": "no_open_request"},
    {"check_name": "no_problem_record"},
    {"check_name": "photo"},
]
COMPULSORY = [
    *PRECONDITIONS,
    {"check_name": "school_years"},
    {"check_name": "courses", "optional_input": True, "threshold": 60},
]

DEFAULT_RULES = {
    "senior": [
        *PRECONDITIONS,
        {"check_name": "credits", "threshold": 144},
        {"check_name": "moral"},
        {"check_name": "fitness"},
    ],
    "vocational": [
        *PRECONDITIONS,
        {"check_name": "courses", "threshold": 60},
        {"check_name": "internship"},
        {"check_name": "internship_report"},
        {"check_name": "fees"},
    ],
    "primary": COMPULSORY,
    "junior": COMPULSORY,
    "special": COMPULSORY,
}

# Certificate numbers: {school} the 学校标识码, {year} the graduation year, {seq} a running number
# that is never given twice.
DEFAULT_FORMATS = {
    "graduation_format": "{school}{year}{seq:05d}",
    "completion_format": "{school}{year}J{seq:04d}",
    "dropout_format": "{school}{year}Y{seq:04d}",
}


def load_defaults(rule_set_model, rule_model):
    """Create the default rule sets (no province) that do not exist yet; idempotent."""
    for segment, rules in DEFAULT_RULES.items():
        rule_set, created = rule_set_model.objects.get_or_create(
            province=None, segment=segment, defaults=DEFAULT_FORMATS
        )
        if not created:
            continue
        rule_model.objects.bulk_create(
            [
                rule_model(rule_set=rule_set, position=position, **rule)
                for position, rule in enumerate(rules, 1)
            ]
        )
