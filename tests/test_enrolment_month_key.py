"""入学年月 is a key field (issue #14, item 5): it changes only through a key-data correction."""

from datetime import date

import pytest
import time_machine

from corrections import rules, services
from corrections.rules import EvidenceKind
from registrar.errors import DomainError
from students.models import KEY_FIELDS, Student
from students.roster.importer import prepare
from students.services import update_student
from tests.correction_helpers import INPUT, LIFE, NOW, approved_through, attach, enrol
from tests.roster_helpers import pupil, write_file


@pytest.fixture(autouse=True)
def _fixed_day():
    with time_machine.travel(NOW):
        yield


@pytest.fixture
def student(registrar, school_class):
    return enrol(registrar, school_class)


def test_the_enrolment_month_is_a_key_field(school):
    from rules.reading import rules_for

    assert "enrolled_on" in KEY_FIELDS
    assert "enrolled_on" in rules.correction_fields(rules_for(school))


def test_a_direct_edit_cannot_change_it(registrar, student):
    with pytest.raises(DomainError) as error:
        update_student(student, by=registrar, changes={"enrolled_on": date(2024, 9, 1)})
    assert "入学年月" in str(error.value) and "关键数据变更" in str(error.value)
    assert Student.objects.get(pk=student.pk).enrolled_on == student.enrolled_on


def test_the_edit_page_does_not_offer_it(client_for, registrar, student):
    page = client_for(registrar).get(f"/students/{student.pk}/edit/").content.decode()
    assert 'name="enrolled_on"' not in page


def test_a_roster_reimport_cannot_change_it(tmp_path, registrar, school, student):
    row = pupil(
        1,
        姓名=student.name,
        身份证件号=student.id_number,
        出生日期=student.birth_date.isoformat(),
        性别="男",
        入学年月="2024-09",
    )
    plan = prepare(write_file(tmp_path / "r.xlsx", [row]), scope=school, by=registrar)
    messages = [problem.message for row in plan.invalid_rows for problem in row.problems]
    assert any("入学年月" in message and "关键数据变更" in message for message in messages), messages


def test_the_same_month_written_as_a_month_is_no_change(tmp_path, registrar, school, student):
    row = pupil(
        1,
        姓名=student.name,
        身份证件号=student.id_number,
        出生日期=student.birth_date.isoformat(),
        性别="男",
        入学年月=f"{student.enrolled_on:%Y-%m}",
    )
    plan = prepare(write_file(tmp_path / "r.xlsx", [row]), scope=school, by=registrar)
    assert plan.is_valid, [p.message for r in plan.invalid_rows for p in r.problems]


def test_a_correction_changes_it_with_the_registration_form(registrar, principal, county_reviewer, student):
    new_month = date(student.enrolled_on.year, 10, 1)
    changes = {"enrolled_on": (new_month, INPUT)}
    correction = services.create_correction(student, by=registrar, changes=changes)
    required = [requirement.label for requirement in services.requirements_of(correction)]
    assert required == [str(EvidenceKind.REGISTRATION_FORM.label)]
    with pytest.raises(DomainError):
        services.submit_correction(correction, by=registrar)
    attach(correction, registrar, EvidenceKind.REGISTRATION_FORM)
    services.submit_correction(correction, by=registrar)
    approved_through(correction, principal, county_reviewer)
    assert Student.objects.get(pk=student.pk).enrolled_on == new_month


def test_a_correction_into_the_future_is_refused(registrar, student):
    with pytest.raises(DomainError) as error:
        services.create_correction(student, by=registrar, changes={"enrolled_on": (date(2030, 9, 1), LIFE)})
    assert "入学年月" in str(error.value) or "未来" in str(error.value) or error.value.errors
