"""The rules that apply where a province has written none: the national defaults (domain §6, §7).

The data migration seeds every province's table with these rows, and they apply from here where a
row is missing (a province created later, a row deleted on the rules page). Keys and values are
written in the notation of `rules.topics`; this module imports no model and no workflow.
"""

from rules.topics import Topic


def _county(name):
    """The county that reviews for a node, or its city when a city runs the school directly."""
    return f"county_reviewer@county({name})|city_reviewer@city({name})"


def _city(name):
    return f"city_reviewer@city({name})"


_SAME_COUNTY_SENIOR = (
    f"school_registrar@sending_school, {_county('receiving_school')}, {_city('receiving_school')}"
)
_OTHER_COUNTY_SENIOR = (
    f"{_county('receiving_school')}, {_city('receiving_school')}, school_registrar@sending_school, "
    f"{_county('sending_school')}, {_city('sending_school')}"
)
_OTHER_PROVINCE_SENIOR = (
    f"{_county('receiving_school')}, {_city('receiving_school')}, school_registrar@sending_school?, "
    f"{_county('sending_school')}?, {_city('sending_school')}?"
)

CHAINS = {
    # 休学, 复学, 退学, 留级, 跳级, 出国 … and key-data corrections: the registrar applies (the
    # submission), the principal approves for the school, then the county; the city instead of the
    # county for high-school and vocational cases (domain §6, §7).
    "*:*:*": f"principal@school, {_county('school')}",
    "*:*:senior": f"principal@school, {_city('school')}",
    "*:*:vocational": f"principal@school, {_city('school')}",
    # Registration: the county, and the city after it for high schools.
    "students.registration:*:senior": f"principal@school, {_county('school')}, {_city('school')}",
    "students.registration:*:vocational": f"principal@school, {_county('school')}, {_city('school')}",
    # A late key-data correction, submitted as an exception: the county decides it explicitly
    # (the city for a school it runs), whatever the stage.
    "corrections.late_correction:*:*": f"principal@school, {_county('school')}",
    # 问题学籍 佐证 and 删除: the school's registrar applies, the county reviews (the city for high
    # schools and the schools it runs), as for every problem record (source 003, 第五条, 第六条).
    "problems.resolution:*:*": _county("school"),
    "problems.resolution:*:senior": _city("school"),
    "problems.resolution:*:vocational": _city("school"),
    # Transfers: the receiving school applies.
    "transfers.transfer:same_county:*": f"school_registrar@sending_school, {_county('receiving_school')}",
    "transfers.transfer:same_county:senior": _SAME_COUNTY_SENIOR,
    "transfers.transfer:same_county:vocational": _SAME_COUNTY_SENIOR,
    "transfers.transfer:other_county:*": (
        f"{_county('receiving_school')}, school_registrar@sending_school, {_county('sending_school')}"
    ),
    "transfers.transfer:other_county:senior": _OTHER_COUNTY_SENIOR,
    "transfers.transfer:other_county:vocational": _OTHER_COUNTY_SENIOR,
    # Another province: the sending side reviews here only when its schools are in this system;
    # otherwise the receiving school pulls the record (调档) once its own side has approved.
    "transfers.transfer:other_province:*": (
        f"{_county('receiving_school')}, school_registrar@sending_school?, {_county('sending_school')}?"
    ),
    "transfers.transfer:other_province:senior": _OTHER_PROVINCE_SENIOR,
    "transfers.transfer:other_province:vocational": _OTHER_PROVINCE_SENIOR,
    # With a school outside the system only this side is here: a transfer out is the current school's
    # (its registrar applies, the principal, the county; the city after it for high school, as the
    # sending side of another province's transfer); a transfer in is the receiving school's, verified
    # by its county (and city), as the receiving side of one.
    "transfers.transfer_out:*:*": f"principal@school, {_county('school')}",
    "transfers.transfer_out:*:senior": f"principal@school, {_county('school')}, {_city('school')}",
    "transfers.transfer_out:*:vocational": f"principal@school, {_county('school')}, {_city('school')}",
    "transfers.transfer_in:*:*": _county("school"),
    "transfers.transfer_in:*:senior": f"{_county('school')}, {_city('school')}",
    "transfers.transfer_in:*:vocational": f"{_county('school')}, {_city('school')}",
}

# Who starts a transfer, by segment ("*": every one): the national default, the receiving school.
INITIATORS = {"*": "receiving"}

# The 学籍异动 kinds a school may start, each with the segments it is open to ("*": all).
KINDS = dict.fromkeys(
    (
        "transfer",
        "suspension",
        "extension",
        "resumption",
        "withdrawal",
        "repeat",
        "skip",
        "abroad",
        "death",
        "other",
        "transfer_out",
        "transfer_in",
    ),
    "*",
)

# What each kind (kind:reason for one reason) needs before it may be submitted: items separated by
# ";", each item satisfied by any of its documents separated by "|" (source 001: 户口本、户口迁移证、
# 父母调动工作证明、房产证等; 病休: 县级以上医院证明、病例 …). A kind:reason row adds to the kind's row.
EVIDENCE = {
    "transfer": "hukou_book; hukou_transfer|job_transfer|property",
    "suspension": "application",
    "extension": "application",
    "resumption": "application",
    "withdrawal": "application",
    "repeat": "application",
    "skip": "application; academic",
    "abroad": "application; passport",
    "death": "death",
    "other": "application|other",
    # With a school outside the system, the other side's word is on paper: its 接收证明 for a
    # transfer out, its (and its bureau's) approval for a transfer in.
    "transfer_out": "application; acceptance",
    "transfer_in": "sending_approval",
    # A suspension (or its extension) for illness needs the hospital's word; the resumption after it
    # a certificate of recovery.
    "suspension:illness": "hospital; medical_record",
    "suspension:infectious": "hospital",
    "extension:illness": "hospital",
    "extension:infectious": "hospital",
    "resumption:illness": "recovery",
    "resumption:infectious": "recovery",
}

# Fields a province adds to the national key fields (students.models.KEY_FIELDS): none; input
# errors are corrected only until the end of the student's first term, changes in life at any time.
CORRECTIONS = {"added_fields": "", "input_errors_first_term_only": "yes"}

# Key-data corrections (domain §7), reason:field ("*" any field). Where the rules ask for the ID
# card, a child's household register page serves as well: many children of K-12 have no ID card.
# Changed in life: 姓名 also the page with the former name or the police certificate; 身份证件号
# and 出生日期 the police letter of the change.
CORRECTION_EVIDENCE = {
    "input_error:*": "id_card|household_page; registration_form",
    "life_change:*": "id_card|household_page",
    "life_change:name": "id_card|household_page; household|police",
    "life_change:id_number": "id_card|household_page; police",
    "life_change:birth_date": "id_card|household_page; police",
    # 入学年月 is proven by the school's own papers (the registration form), not by the ID card.
    "input_error:enrolled_on": "registration_form",
    "life_change:enrolled_on": "registration_form",
}

DEFAULTS = {
    Topic.CHAIN: CHAINS,
    Topic.INITIATOR: INITIATORS,
    Topic.KINDS: KINDS,
    Topic.EVIDENCE: EVIDENCE,
    Topic.CORRECTIONS: CORRECTIONS,
    Topic.CORRECTION_EVIDENCE: CORRECTION_EVIDENCE,
    # Transfer windows and graduation dates: the province's business calendar, unless a row here
    # gives a stage or a grade its own.
    Topic.WINDOWS: {},
    Topic.GRADUATION: {},
    # Nothing is delegated to the counties until the province says so.
    Topic.DELEGATION: {},
}
