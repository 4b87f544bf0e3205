"""升学 (issue #14, item 2): a junior or senior school takes over a graduate's record, the same record
and number, through the registration's review; every refusal with its reason."""

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.utils import timezone

from intake import admission, services
from intake.errors import IntakeError
from intake.models import Intake
from registrar import approvals
from registrar.choices import Role
from registrar.errors import DomainError
from registrar.limits import TooManyLookups
from registrar.models import ApprovalState, AuditEvent
from registrar.services import create_class
from students.identity import school_year_start
from students.models import Event, Status, StatusEvent, Student
from students.services import record_status_event
from tests.conftest import make_user
from tests.correction_helpers import class_of_level, enrol
from tests.intake_helpers import graduate, receiving_office, run_review, write_admission_list


@pytest.fixture
def office(tree):
    return receiving_office(tree)


@pytest.fixture
def pupil(registrar, school):
    return graduate(registrar, school)


def lookup(student, office, **changes):
    data = {"number": student.number, "name": student.name, "id_number": student.id_number, **changes}
    return services.find_graduate(**data, by=office["registrar"], school=office["school"])


def take_in(student, office, school_class=None):
    return services.admit(
        [(student, school_class or office["seventh"])], by=office["registrar"], school=office["school"]
    )


def refusal(call, *args, **kwargs):
    with pytest.raises(IntakeError) as error:
        call(*args, **kwargs)
    return error.value.message


# --- the journey ---------------------------------------------------------------------------------------


def test_a_graduate_is_taken_in_as_the_same_record_with_the_same_number(pupil, office, county_reviewer):
    found = lookup(pupil, office)
    assert found.pk == pupil.pk
    intake = take_in(found, office)
    assert intake.approval.state == ApprovalState.SUBMITTED
    # Waiting for review, the student is still the primary school's graduate.
    assert Student.objects.get(pk=pupil.pk).status == Status.GRADUATED

    run_review(intake.approval, [office["principal"], county_reviewer])

    student = Student.objects.get(pk=pupil.pk)
    assert (student.number, student.status) == (pupil.number, Status.ENROLLED)
    assert (student.school, student.grade.level, student.school_class) == (
        office["school"],
        7,
        office["seventh"],
    )
    assert student.enrolled_on == school_year_start(timezone.localdate())
    assert Student.objects.filter(id_number=pupil.id_number).count() == 1
    event = StatusEvent.objects.filter(student=student).latest("pk")
    assert (event.event, event.from_status, event.to_status) == (
        Event.ADMITTED,
        Status.GRADUATED,
        Status.ENROLLED,
    )
    assert AuditEvent.objects.filter(action="intake.student.admitted").count() == 1
    assert Intake.objects.get(pk=intake.pk).applied_at is not None


def test_the_junior_intake_is_reviewed_by_the_principal_and_the_county(pupil, office):
    intake = take_in(pupil, office)
    roles = list(intake.approval.steps.order_by("position").values_list("role", flat=True))
    assert roles == [Role.PRINCIPAL, Role.COUNTY_REVIEWER]


def test_a_senior_intake_is_reviewed_by_the_city_too(tree, office, city_reviewer):
    junior_grad = graduate(office["registrar"], office["school"], name="初中毕业", sequence=5, level=9)
    tenth = class_of_level(office["school"], 10)
    intake = take_in(junior_grad, office, tenth)
    roles = list(intake.approval.steps.order_by("position").values_list("role", flat=True))
    assert roles == [Role.PRINCIPAL, Role.COUNTY_REVIEWER, Role.CITY_REVIEWER]


def test_a_refused_intake_leaves_the_graduate_free_for_another_school(pupil, office, county_reviewer):
    intake = take_in(pupil, office)
    approvals.reject(intake.approval, by=office["principal"], comment="名额已满")
    assert Student.objects.get(pk=pupil.pk).status == Status.GRADUATED
    assert take_in(pupil, office).pk != intake.pk


# --- the lookup ---------------------------------------------------------------------------------------


def test_a_lookup_with_one_wrong_value_finds_nobody_and_says_not_which(pupil, office):
    message = refusal(lookup, pupil, office, name="张小华")
    assert "学籍号" in message and pupil.school.name not in message


def test_every_lookup_is_logged(pupil, office):
    lookup(pupil, office)
    with pytest.raises(IntakeError):
        lookup(pupil, office, id_number="110101201001011234")
    logged = AuditEvent.objects.filter(action=services.LOOKUP_ACTION).order_by("pk")
    assert [event.data["found"] for event in logged] == [True, False]
    assert pupil.number not in str([event.data for event in logged])


def test_lookups_are_throttled(pupil, office, settings):
    settings.REGISTRAR = {**settings.REGISTRAR, "IDENTITY_LOOKUPS_PER_HOUR": 1}
    lookup(pupil, office)
    with pytest.raises(TooManyLookups):
        lookup(pupil, office)


# --- refusals -----------------------------------------------------------------------------------------


def test_a_pupil_still_in_school_comes_by_transfer(registrar, school, office):
    enrolled = enrol(registrar, class_of_level(school, 6), name="在校生", sequence=7)
    assert "转学" in refusal(lookup, enrolled, office)


def test_a_closed_record_is_not_taken_in(registrar, school, office):
    left = enrol(registrar, class_of_level(school, 6), name="离校生", sequence=9)
    record_status_event(left, event=Event.LEFT, by=None, occurred_on=timezone.localdate())
    assert "只有毕业生" in refusal(lookup, Student.objects.get(pk=left.pk), office)


def test_a_school_that_does_not_teach_the_next_stage_cannot_take_the_graduate(pupil, registrar, school):
    # 育才小学 is a primary school: a primary graduate goes on to a junior school.
    other_primary = {"registrar": registrar, "school": school}
    assert "不开设" in refusal(lookup, pupil, other_primary)


def test_the_class_must_be_in_the_first_grade_of_the_new_stage(pupil, office):
    eighth = class_of_level(office["school"], 8)
    assert "七年级" in refusal(take_in, pupil, office, eighth)
    assert not Intake.objects.exists()


def test_a_full_class_is_refused(pupil, office):
    small = create_class(office["school"].grades.get(level=7), by=None, name="小班", capacity=1)
    enrol(office["registrar"], small, name="已在班", sequence=21)
    with pytest.raises(DomainError, match="已满"):
        take_in(pupil, office, small)
    assert not Intake.objects.exists()


def test_two_schools_cannot_take_the_same_student(pupil, office, tree, outsider):
    take_in(pupil, office)
    # The outsider's school (夷陵区实验学校, 九年一贯制) teaches junior grades too, in another city.
    outsider_school = outsider.node
    seventh = class_of_level(outsider_school, 7)
    message = refusal(services.admit, [(pupil, seventh)], by=outsider, school=outsider_school)
    assert "另一所学校" in message and office["school"].name not in message
    assert Intake.objects.count() == 1


def test_the_county_is_told_which_school_has_the_student(pupil, office, county_reviewer):
    intake = take_in(pupil, office)
    assert office["school"].name in services.taken_message(pupil, intake.approval, county_reviewer)


def test_only_the_receiving_schools_registrar_takes_students_in(pupil, office, county_reviewer):
    with pytest.raises(PermissionDenied):
        services.admit([(pupil, office["seventh"])], by=office["principal"], school=office["school"])
    with pytest.raises(PermissionDenied):
        services.admit([(pupil, office["seventh"])], by=county_reviewer, school=office["school"])


def test_a_request_that_no_longer_fits_cannot_be_resubmitted(pupil, office):
    intake = take_in(pupil, office)
    approvals.return_for_revision(intake.approval, by=office["principal"], comment="请核对")
    Student.objects.filter(pk=pupil.pk).update(status=Status.LEFT)
    with pytest.raises(approvals.ApprovalError):
        approvals.resubmit(Intake.objects.get(pk=intake.pk).approval, by=office["registrar"])


# --- the admission list -----------------------------------------------------------------------------


def test_an_admission_list_takes_its_graduates_in_and_counts_the_new(tmp_path, registrar, school, office):
    first = graduate(registrar, school, name="毕业甲", sequence=1)
    second = graduate(registrar, school, name="毕业乙", sequence=2)
    path = write_admission_list(
        tmp_path / "录取名单.xlsx",
        [
            (first.number, "", first.name, "七年级", "1班"),
            ("", second.id_number, second.name, "初一", "1班"),
            ("", "110101201301011238", "新同学", "七年级", "1班"),
        ],
    )
    plan, intake = admission.import_admission_list(str(path), school=office["school"], by=office["registrar"])
    assert {entry.student_id for entry in intake.entries.all()} == {first.pk, second.pk}
    assert len(plan.unmatched) == 1
    assert "1" in admission.summary(plan)


def test_one_bad_row_and_nothing_is_written(tmp_path, registrar, school, office):
    first = graduate(registrar, school, name="毕业甲", sequence=1)
    path = write_admission_list(
        tmp_path / "list.xlsx",
        [(first.number, "", first.name, "七年级", "1班"), (first.number, "", "别人", "七年级", "1班")],
    )
    with pytest.raises(admission.AdmissionListInvalid) as error:
        admission.import_admission_list(str(path), school=office["school"], by=office["registrar"])
    assert not Intake.objects.exists()
    messages = dict(error.value.plan.problem_messages())
    assert list(messages) == [3]


def test_an_unknown_class_and_a_wrong_grade_are_reported(tmp_path, registrar, school, office):
    first = graduate(registrar, school, name="毕业甲", sequence=1)
    second = graduate(registrar, school, name="毕业乙", sequence=2)
    path = write_admission_list(
        tmp_path / "list.xlsx",
        [(first.number, "", first.name, "七年级", "9班"), (second.number, "", second.name, "八年级", "1班")],
    )
    plan = admission.check_admission_list(str(path), school=office["school"], by=office["registrar"])
    messages = dict(plan.problem_messages())
    assert "1班" in " ".join(messages[2]) and "七年级" in " ".join(messages[3])


def test_a_list_without_its_columns_is_a_file_problem(tmp_path, office):
    path = write_admission_list(
        tmp_path / "list.xlsx", [("张三", "1班", "x")], header=("姓名", "班级", "备注")
    )
    plan = admission.check_admission_list(str(path), school=office["school"], by=office["registrar"])
    assert plan.file_errors and not plan.is_valid


def test_import_intake_command(tmp_path, registrar, school, office, capsys):
    first = graduate(registrar, school, name="毕业甲", sequence=1)
    path = write_admission_list(tmp_path / "list.xlsx", [(first.number, "", first.name, "七年级", "1班")])
    code = office["school"].code
    call_command("import_intake", str(path), "--school", code, "--dry-run")
    assert not Intake.objects.exists()
    call_command("import_intake", str(path), "--school", code, "--user", office["registrar"].username)
    assert Intake.objects.get().entries.get().student == first


def test_import_intake_command_refuses_a_bad_list_with_the_error_workbook(
    tmp_path, registrar, school, office
):
    first = graduate(registrar, school, name="毕业甲", sequence=1)
    path = write_admission_list(tmp_path / "list.xlsx", [(first.number, "", "别人", "七年级", "1班")])
    errors = tmp_path / "errors.xlsx"
    with pytest.raises(CommandError) as error:
        call_command(
            "import_intake",
            str(path),
            "--school",
            office["school"].code,
            "--user",
            office["registrar"].username,
            "--errors",
            str(errors),
        )
    assert error.value.returncode == 1
    assert errors.exists() and not Intake.objects.exists()


def test_import_intake_command_needs_the_schools_registrar(
    tmp_path, registrar, school, office, county_reviewer
):
    first = graduate(registrar, school, name="毕业甲", sequence=1)
    path = write_admission_list(tmp_path / "list.xlsx", [(first.number, "", first.name, "七年级", "1班")])
    for args in ([], ["--user", county_reviewer.username], ["--user", "nobody"]):
        with pytest.raises(CommandError) as error:
            call_command("import_intake", str(path), "--school", office["school"].code, *args)
        assert error.value.returncode == 1
    assert not Intake.objects.exists()


def test_a_user_unknown_to_the_pages_is_refused(office):
    teacher = make_user("teacher7", office["school"], [Role.CLASS_TEACHER])
    with pytest.raises(PermissionDenied):
        services.registrar_school(teacher)


def test_people_new_to_the_system_on_a_full_list_enter_the_registration_review(
    tmp_path, registrar, school, office
):
    from tests.roster_helpers import pupil as roster_row
    from tests.roster_helpers import write_file

    first = graduate(registrar, school, name="毕业甲", sequence=1)
    newcomer = roster_row(31, level=7)
    known = {**roster_row(32, level=7), "学籍号": first.number, "姓名": first.name}
    known["身份证件号"] = first.id_number
    known["出生日期"] = first.birth_date.isoformat()
    path = write_file(tmp_path / "full.xlsx", [known, newcomer])
    plan, intake = admission.import_admission_list(str(path), school=office["school"], by=office["registrar"])
    assert intake.entries.get().student == first
    created = Student.objects.get(name=newcomer["姓名"])
    assert (created.school, created.status, created.number) == (office["school"], Status.REGISTERING, None)
    assert created.registration.applicant == office["registrar"]
    assert "注册审核" in admission.summary(plan)


def test_a_bad_new_person_on_a_full_list_stops_the_whole_list(tmp_path, registrar, school, office):
    from tests.roster_helpers import pupil as roster_row
    from tests.roster_helpers import write_file

    first = graduate(registrar, school, name="毕业甲", sequence=1)
    known = {**roster_row(32, level=7), "学籍号": first.number, "姓名": first.name}
    known["身份证件号"] = first.id_number
    newcomer = roster_row(31, level=7, 性别="女")
    path = write_file(tmp_path / "full.xlsx", [known, newcomer])
    with pytest.raises(admission.AdmissionListInvalid) as error:
        admission.import_admission_list(str(path), school=office["school"], by=office["registrar"])
    assert list(dict(error.value.plan.problem_messages())) == [3]
    assert not Intake.objects.exists() and not Student.objects.filter(name=newcomer["姓名"]).exists()
