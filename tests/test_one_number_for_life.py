"""一人一号 everywhere (issue #14, item 3): a person whose record exists never gets a second 学籍号,
whatever that record's status; the case is refused with a message that says what to do."""

import pytest
from django.utils import timezone

from registrar.services import create_class
from students.errors import StudentError
from students.models import Event, Status, Student
from students.numbers import issue_number
from students.services import create_student, record_status_event
from tests.correction_helpers import class_of_level, enrol
from tests.student_helpers import guardian_data, student_data

# Each way a record stops being live, and what the refusal tells the school to do instead.
ENDINGS = [
    (Event.GRADUATED, Status.GRADUATED, "升学"),
    (Event.COMPLETED, Status.COMPLETED, "教育局"),
    (Event.DROPPED_OUT, Status.DROPPED_OUT, "教育局"),
    (Event.WITHDRAWN, Status.WITHDRAWN, "教育局"),
    (Event.WENT_ABROAD, Status.ABROAD, "教育局"),
    (Event.DIED, Status.DECEASED, "教育局"),
    (Event.LEFT, Status.LEFT, "教育局"),
    (Event.TRANSFERRED_OUT, Status.TRANSFERRED_OUT, "转学"),
]


@pytest.fixture
def junior_class(tree):
    school = tree["1420102004"]
    return create_class(school.grades.get(level=7), by=None, name="1班")


@pytest.fixture
def junior_registrar(junior_class):
    from registrar.choices import Role
    from tests.conftest import make_user

    return make_user("junior-registrar", junior_class.grade.school, [Role.SCHOOL_REGISTRAR])


def ended(registrar, school_class, event):
    # A sixth-grader, so that the same person is of age for the junior school's seventh grade.
    student = enrol(registrar, class_of_level(school_class.grade.school, 6))
    record_status_event(student, event=event, by=None, occurred_on=timezone.localdate())
    return Student.objects.get(pk=student.pk)


def same_person_at(junior_class, earlier):
    return student_data(
        junior_class, name=earlier.name, birth=earlier.birth_date, id_number=earlier.id_number
    )


@pytest.mark.parametrize(("event", "status", "advice"), ENDINGS, ids=[e[1] for e in ENDINGS])
def test_a_new_registration_of_a_person_with_a_record_is_refused(
    registrar, school_class, junior_class, junior_registrar, event, status, advice
):
    earlier = ended(registrar, school_class, event)
    assert earlier.status == status
    with pytest.raises(StudentError) as error:
        create_student(
            by=junior_registrar,
            school=junior_class.grade.school,
            data=same_person_at(junior_class, earlier),
            guardians=[guardian_data()],
        )
    message = error.value.message
    assert "一人一号" in message or "终身" in message or "不再另发" in message or "只有一个" in message
    assert advice in message
    # A school's registrar does not see another school's students: neither the number nor the school.
    assert earlier.number not in message and earlier.school.name not in message
    assert Student.objects.filter(id_number=earlier.id_number).count() == 1


@pytest.mark.parametrize(("event", "status", "advice"), ENDINGS, ids=[e[1] for e in ENDINGS])
def test_issue_number_never_gives_a_second_number(
    registrar, school_class, junior_class, event, status, advice
):
    earlier = ended(registrar, school_class, event)
    second = Student(
        school=junior_class.grade.school,
        status=Status.REGISTERING,
        **same_person_at(junior_class, earlier),
    )
    with pytest.raises(StudentError) as error:
        issue_number(second, by=None)
    assert earlier.number in error.value.message
    assert Student.objects.filter(number__startswith="J").count() == 0


def test_an_outsider_is_not_told_the_number_or_the_school(registrar, school_class, outsider, other_school):
    earlier = ended(registrar, school_class, Event.GRADUATED)
    other_class = create_class(other_school.grades.get(level=7), by=None, name="1班")
    data = student_data(other_class, name=earlier.name, birth=earlier.birth_date, id_number=earlier.id_number)
    with pytest.raises(StudentError) as error:
        create_student(by=outsider, school=other_school, data=data, guardians=[guardian_data()])
    message = error.value.message
    assert earlier.number not in message and earlier.school.name not in message
    assert "升学" in message


def test_a_person_new_to_the_system_is_registered(registrar, school_class, county_reviewer):
    student = enrol(registrar, school_class)
    assert student.number == "G" + student.id_number


def test_a_roster_row_of_a_graduate_elsewhere_is_refused(
    tmp_path, registrar, school_class, junior_class, junior_registrar
):
    from students.roster.importer import prepare
    from tests.roster_helpers import pupil, write_file

    earlier = ended(registrar, school_class, Event.GRADUATED)
    row = pupil(
        1,
        level=7,
        姓名=earlier.name,
        性别="男",
        出生日期=earlier.birth_date.isoformat(),
        身份证件号=earlier.id_number,
    )
    plan = prepare(
        write_file(tmp_path / "r.xlsx", [row]), scope=junior_class.grade.school, by=junior_registrar
    )
    messages = [problem.message for row in plan.invalid_rows for problem in row.problems]
    assert any("升学" in message and earlier.number not in message for message in messages), messages
