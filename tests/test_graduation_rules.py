"""Each graduation rule, passing and failing with its reason; a province's rules over the defaults;
the verdicts; certificate number formats."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from graduation.certificates import issue_number
from graduation.models import Check, Rule, RuleSet
from graduation.rules import Facts, Verdict, effective_rules, judge, rules_for, segment_years
from students.models import Status

ON = date(2026, 6, 5)


def facts(**overrides):
    values = {
        "status": Status.ENROLLED,
        "segment": "senior",
        "final_grade": True,
        "enrolled_on": date(2023, 9, 1),
        "has_photo": True,
        "segment_years": 3,
        "result": {"credits": Decimal(150), "moral": "pass", "fitness": "good"},
        "on": ON,
    }
    return Facts(**(values | overrides))


def reasons(rules, **overrides):
    return judge(rules, facts(**overrides)).reasons


@pytest.fixture
def senior(tree):
    return rules_for(tree["420000"], "senior")


@pytest.fixture
def vocational(tree):
    return rules_for(tree["420000"], "vocational")


@pytest.fixture
def primary(tree):
    return rules_for(tree["420000"], "primary")


def test_the_defaults_per_stage(senior, vocational, primary):
    preconditions = ["enrolled", "final_grade", "no_open_request", "no_problem_record", "photo"]
    assert [rule.check_name for rule in senior] == [*preconditions, "credits", "moral", "fitness"]
    assert [rule.check_name for rule in vocational] == [
        *preconditions,
        "courses",
        "internship",
        "internship_report",
        "fees",
    ]
    assert [rule.check_name for rule in primary] == [*preconditions, "school_years", "courses"]


def test_an_eligible_senior_passes_every_rule(senior):
    judgement = judge(senior, facts())
    assert (judgement.verdict, judgement.reasons) == (Verdict.ELIGIBLE, [])


@pytest.mark.parametrize(
    ("overrides", "reason", "verdict"),
    [
        ({"status": Status.REGISTERING}, "学籍状态为注册审核中，不是在校", Verdict.BLOCKED),
        ({"final_grade": False}, "不在本校毕业年级", Verdict.BLOCKED),
        ({"open_request": "张三 转学"}, "有在办业务：张三 转学", Verdict.BLOCKED),
        ({"problem": "身份证件号无效"}, "有未处理的问题学籍：身份证件号无效", Verdict.BLOCKED),
        ({"has_photo": False}, "没有照片", Verdict.BLOCKED),
        (
            {"result": {"credits": Decimal("143.5"), "moral": "pass", "fitness": "pass"}},
            "143.5 学分，少于要求的 144 学分",
            Verdict.COMPLETION,
        ),
        (
            {"result": {"credits": Decimal(150), "moral": "fail", "fitness": "pass"}},
            "思想品德与公民素养不合格",
            Verdict.COMPLETION,
        ),
        (
            {"result": {"credits": Decimal(150), "moral": "pass", "fitness": "fail"}},
            "体质健康未达到国家标准",
            Verdict.COMPLETION,
        ),
        ({"result": None}, "学分：尚未导入成绩", Verdict.COMPLETION),
    ],
)
def test_each_senior_rule_fails_with_its_reason(senior, overrides, reason, verdict):
    judgement = judge(senior, facts(**overrides))
    assert reason in judgement.reasons
    assert judgement.verdict == verdict


def test_a_suspended_senior_after_a_year_is_a_candidate_for_leaving(senior):
    judgement = judge(senior, facts(status=Status.SUSPENDED))
    assert judgement.verdict == Verdict.DROPOUT
    assert (
        judge(senior, facts(status=Status.SUSPENDED, enrolled_on=date(2025, 9, 1))).verdict == Verdict.BLOCKED
    )


VOCATIONAL_OK = {
    "courses": {"语文": {"value": "80", "passed": True}, "数控加工": {"value": "补考合格", "passed": True}},
    "internship": "pass",
    "internship_report": True,
    "fees_paid": True,
}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({}, None),
        ({"courses": {"语文": {"value": "45", "passed": False}}}, "不合格课程：语文"),
        ({"courses": {}}, "课程成绩：尚未导入成绩"),
        ({"internship": "fail"}, "顶岗实习不合格"),
        ({"internship": ""}, "顶岗实习：尚未导入成绩"),
        ({"internship_report": False}, "未交实习报告"),
        ({"fees_paid": False}, "费用未缴清"),
        ({"fees_paid": None}, "缴费：尚未导入成绩"),
    ],
)
def test_each_vocational_rule(vocational, change, reason):
    found = reasons(vocational, segment="vocational", result=VOCATIONAL_OK | change)
    assert found == ([reason] if reason else [])


def test_planned_courses_must_all_have_a_result(tree, vocational):
    own = RuleSet.objects.create(province=tree["420000"], segment="vocational")
    Rule.objects.create(rule_set=own, check_name=Check.COURSES, courses="语文，数学", threshold=60)
    rules = rules_for(tree["420000"], "vocational")
    assert "缺少成绩：数学" in reasons(rules, segment="vocational", result=VOCATIONAL_OK)


def test_primary_years_and_courses_where_loaded(primary):
    assert (
        reasons(primary, segment="primary", segment_years=6, enrolled_on=date(2020, 9, 1), result=None) == []
    )
    assert reasons(
        primary, segment="primary", segment_years=6, enrolled_on=date(2021, 9, 1), result=None
    ) == ["学制 6 年，仅修读 5 年"]
    failed = {"courses": {"数学": {"value": "50", "passed": False}}}
    assert reasons(
        primary, segment="primary", segment_years=6, enrolled_on=date(2020, 9, 1), result=failed
    ) == ["不合格课程：数学"]


def test_school_years_follow_the_school_system(tree):
    assert segment_years(tree["1420102001"], "primary") == 6
    assert segment_years(tree["1420102004"], "junior") == 3
    assert segment_years(tree["1420506003"], "junior") == 3


def test_a_province_replaces_a_default_rule_and_switches_the_photo_off(tree, django_assert_num_queries):
    hubei = tree["420000"]
    own = RuleSet.objects.create(province=hubei, segment="senior")
    Rule.objects.create(rule_set=own, check_name=Check.CREDITS, threshold=Decimal(150), position=6)
    Rule.objects.create(rule_set=own, check_name=Check.PHOTO, enabled=False, position=5)
    with django_assert_num_queries(1):
        rules = effective_rules([hubei.pk], ["senior"])[(hubei.pk, "senior")]
    assert "146 学分，少于要求的 150 学分" in reasons(
        rules, result={"credits": 146, "moral": "pass", "fitness": "pass"}
    )
    assert reasons(rules, has_photo=False) == []


def test_certificate_number_formats_are_checked_and_numbers_never_repeat(tree):
    with pytest.raises(ValidationError) as error:
        RuleSet(segment="senior", province=tree["420000"], graduation_format="{school}{name}").full_clean()
    assert "graduation_format" in error.value.message_dict
    school, province = tree["1420102004"], tree["420000"]
    first = issue_number("{school}{year}{seq:03d}", school=school, year=2026, province=province)
    second = issue_number("{school}{year}{seq:03d}", school=school, year=2026, province=province)
    assert (first, second) == ("14201020042026001", "14201020042026002")
    assert issue_number("B{year}{seq:02d}", school=school, year=2027, province=province) == "B202701"
