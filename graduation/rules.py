"""The graduation rules (domain §10): named checks, each giving its reason in Chinese when it fails.

A province's rules for a stage are its `RuleSet` over the installation's defaults (graduation/
defaults.py, loaded by a migration): a province's rule replaces the default rule of the same check.
The checks read `Facts`, a plain record of what is known about a student (built for many students
at once by graduation/audit.py), so that judging 100,000 students costs no query per student.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from graduation.defaults import DEFAULT_RULES
from graduation.models import PRECONDITIONS, Check, Fitness, PassFail, Rule, RuleSet
from registrar.choices import Segment
from registrar.models import parse_school_system
from students.identity import school_year_start
from students.models import Status

# Where a 肄业 (leaving after study) is possible: high school, after at least a year (domain §5).
DROPOUT_SEGMENTS = (Segment.SENIOR, Segment.VOCATIONAL)
DEFAULT_PASS_MARK = Decimal(60)


class Verdict:
    """What the audit says of a student."""

    ELIGIBLE = "eligible"
    COMPLETION = "completion"
    DROPOUT = "dropout"
    BLOCKED = "blocked"

    LABELS = {
        ELIGIBLE: gettext_lazy("Eligible to graduate"),
        COMPLETION: gettext_lazy("Not eligible (completion)"),
        DROPOUT: gettext_lazy("Candidate for leaving after study"),
        BLOCKED: gettext_lazy("Cannot be processed yet"),
    }
    ORDER = (ELIGIBLE, COMPLETION, DROPOUT, BLOCKED)


@dataclass
class Facts:
    """What the checks know of one student."""

    status: str
    segment: str
    final_grade: bool
    enrolled_on: date
    has_photo: bool
    # The years the school system gives the segment (6 for a 6-3-3 primary school …).
    segment_years: int
    open_request: str = ""  # the label of an open request, if any
    problem: str = ""  # the kind of an unresolved problem record, if any
    result: dict | None = None  # the Result's fields, or None when no file has said anything
    on: date = field(default_factory=date.today)


def segment_years(school, segment):
    """How many years the 学制 gives the segment at `school` (6-3-3: primary 6, junior 3, senior 3)."""
    try:
        lengths = parse_school_system(school.school_system) if school.school_system else []
    except ValueError:
        lengths = []
    primary = lengths[0] if len(lengths) >= 2 else 6
    if segment == Segment.PRIMARY:
        return primary
    if segment in (Segment.JUNIOR,):
        return 9 - primary
    if segment == Segment.SPECIAL:
        return 9
    if len(lengths) == 3:
        return lengths[2]
    if len(lengths) == 1:
        return lengths[0]
    return 3


def years_studied(facts):
    """School years begun since enrolment, counting the present one."""
    return school_year_start(facts.on).year - school_year_start(facts.enrolled_on).year + 1


def studied_a_year(facts):
    return (facts.on - facts.enrolled_on).days >= 365


# --- the checks ------------------------------------------------------------------------------


def _value(facts, name):
    return (facts.result or {}).get(name)


def _missing(label):
    return _("%(item)s: no result was loaded") % {"item": label}


def check_enrolled(rule, facts):
    if facts.status != Status.ENROLLED:
        return _("The status is %(status)s, not enrolled") % {"status": Status(facts.status).label}
    return ""


def check_final_grade(rule, facts):
    return "" if facts.final_grade else _("Not in the final grade of the school")


def check_no_open_request(rule, facts):
    if facts.open_request:
        return _("A request is in progress: %(label)s") % {"label": facts.open_request}
    return ""


def check_no_problem_record(rule, facts):
    if facts.problem:
        return _("An unresolved problem record: %(kind)s") % {"kind": facts.problem}
    return ""


def check_photo(rule, facts):
    return "" if facts.has_photo else _("No photo on file")


def check_school_years(rule, facts):
    studied = years_studied(facts)
    if studied < facts.segment_years:
        return _("%(studied)s of the %(years)s years of the school system completed") % {
            "studied": studied,
            "years": facts.segment_years,
        }
    return ""


def check_credits(rule, facts):
    credits = _value(facts, "credits")
    if credits is None:
        return "" if rule.optional_input else _missing(_("Credits"))
    required = rule.threshold if rule.threshold is not None else Decimal(144)
    if Decimal(credits) < required:
        return _("%(credits)s credits, fewer than the %(required)s required") % {
            "credits": _number(credits),
            "required": _number(required),
        }
    return ""


def check_moral(rule, facts):
    moral = _value(facts, "moral")
    if not moral:
        return "" if rule.optional_input else _missing(_("Moral character and civic literacy"))
    return "" if moral == PassFail.PASS else _("Moral character and civic literacy not passed")


def check_fitness(rule, facts):
    fitness = _value(facts, "fitness")
    if not fitness:
        return "" if rule.optional_input else _missing(_("Physical fitness"))
    if fitness == Fitness.FAIL:
        return _("Physical fitness below the national standard")
    return ""


def check_courses(rule, facts):
    courses = _value(facts, "courses") or {}
    planned = rule.course_names()
    missing = [name for name in planned if name not in courses]
    if not courses and rule.optional_input:
        return ""
    if not courses and not planned:
        return _missing(_("Course results"))
    failed = [name for name, result in courses.items() if not result.get("passed")]
    reasons = []
    if missing and not rule.optional_input:
        reasons.append(_("No result for %(courses)s") % {"courses": "、".join(missing)})
    if failed:
        reasons.append(_("Not passed: %(courses)s") % {"courses": "、".join(failed)})
    return _("; ").join(reasons)


def check_internship(rule, facts):
    internship = _value(facts, "internship")
    if not internship:
        return "" if rule.optional_input else _missing(_("Internship"))
    return "" if internship == PassFail.PASS else _("Internship not passed")


def check_internship_report(rule, facts):
    report = _value(facts, "internship_report")
    if report is None:
        return "" if rule.optional_input else _missing(_("Internship report"))
    return "" if report else _("Internship report not submitted")


def check_fees(rule, facts):
    paid = _value(facts, "fees_paid")
    if paid is None:
        return "" if rule.optional_input else _missing(_("Fees"))
    return "" if paid else _("Fees not paid")


CHECKS = {
    Check.ENROLLED: check_enrolled,
    Check.FINAL_GRADE: check_final_grade,
    Check.NO_OPEN_REQUEST: check_no_open_request,
    Check.NO_PROBLEM_RECORD: check_no_problem_record,
    Check.PHOTO: check_photo,
    Check.SCHOOL_YEARS: check_school_years,
    Check.CREDITS: check_credits,
    Check.MORAL: check_moral,
    Check.FITNESS: check_fitness,
    Check.COURSES: check_courses,
    Check.INTERNSHIP: check_internship,
    Check.INTERNSHIP_REPORT: check_internship_report,
    Check.FEES: check_fees,
}


def _number(value):
    value = Decimal(value)
    return str(value.quantize(Decimal(1)) if value == value.to_integral() else value.normalize())


# --- judging ------------------------------------------------------------------------------


@dataclass
class Judgement:
    verdict: str
    # [(check, reason)] of every failing rule, in the rules' order.
    failures: list

    @property
    def reasons(self):
        return [reason for _check, reason in self.failures]

    @property
    def label(self):
        return Verdict.LABELS[self.verdict]

    def failed(self, check):
        return any(name == check for name, _reason in self.failures)


def judge(rules, facts):
    """The verdict of `rules` (effective, enabled) on `facts`, with every failing rule's reason."""
    failures = []
    for rule in rules:
        reason = CHECKS[rule.check_name](rule, facts)
        if reason:
            failures.append((rule.check_name, reason))
    preconditions = [check for check, _reason in failures if check in PRECONDITIONS]
    if may_drop_out(facts) and facts.status == Status.SUSPENDED:
        verdict = Verdict.DROPOUT
    elif preconditions:
        verdict = Verdict.BLOCKED
    elif failures:
        verdict = Verdict.COMPLETION
    else:
        verdict = Verdict.ELIGIBLE
    return Judgement(verdict, failures)


def may_drop_out(facts):
    """肄业 is possible: high school, at least a year of study, in school (or suspended), and no
    request or problem record in the way."""
    return (
        facts.segment in DROPOUT_SEGMENTS
        and facts.status in (Status.ENROLLED, Status.SUSPENDED)
        and studied_a_year(facts)
        and not facts.open_request
        and not facts.problem
    )


def standard_failures(rules, facts):
    """The failing rules of the standard alone (no precondition): what a 结业 student must still pass
    to exchange the completion for graduation."""
    standard = [rule for rule in rules if rule.check_name not in PRECONDITIONS]
    return judge(standard, facts).failures


# --- the rules in force ------------------------------------------------------------------------------


def effective_rules(province_ids, segments):
    """{(province id, segment): [Rule]} for every pair, in one query: the default rules of each stage
    with each province's own over them (by check), the enabled ones in order."""
    rules = Rule.objects.filter(rule_set__segment__in=list(segments)).select_related("rule_set")
    rules = rules.filter(rule_set__province__isnull=True) | rules.filter(
        rule_set__province_id__in=list(province_ids)
    )
    defaults, own = {}, {}
    for rule in rules:
        key = rule.rule_set.segment
        target = (
            own.setdefault((rule.rule_set.province_id, key), {})
            if rule.rule_set.province_id
            else defaults.setdefault(key, {})
        )
        target[rule.check_name] = rule
    for segment in segments:
        if segment not in defaults:
            # The migration loads the defaults; a database emptied since (a test's flush) keeps them here.
            defaults[segment] = {rule.check_name: rule for rule in code_defaults(segment)}
    found = {}
    for province_id in province_ids:
        for segment in segments:
            merged = {**defaults.get(segment, {}), **own.get((province_id, segment), {})}
            found[(province_id, segment)] = sorted(
                (rule for rule in merged.values() if rule.enabled),
                key=lambda rule: (rule.position, rule.check_name),
            )
    return found


def code_defaults(segment):
    """The default rules of a stage as defaults.py gives them (unsaved)."""
    return [
        Rule(position=position, **spec)
        for position, spec in enumerate(DEFAULT_RULES.get(str(segment), []), 1)
    ]


def rules_for(province, segment):
    return effective_rules([province.pk], [segment])[(province.pk, segment)]


def rule_set_for(province, segment):
    """The province's own RuleSet of the stage, else the default one (for the certificate formats)."""
    sets = {
        rule_set.province_id: rule_set
        for rule_set in RuleSet.objects.filter(segment=segment).filter(province__isnull=True)
        | RuleSet.objects.filter(segment=segment, province=province)
    }
    own, default = sets.get(province.pk), sets.get(None)
    return own, default
