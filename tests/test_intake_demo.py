"""seed_demo leaves graduates of 珞珈山小学 that 第六中学 (xueji_liuzhong) can take in."""

from django.core.management import call_command

from intake.services import admit, find_graduate
from registrar.models import Organisation, User
from students.models import Status, Student


def test_the_demo_has_graduates_the_junior_school_can_take_in(db, capsys):
    call_command("seed_demo", class_size=1)
    output = capsys.readouterr().out
    graduates = Student.objects.filter(school__code="1420111001", status=Status.GRADUATED)
    assert graduates.exists()
    first = graduates.first()
    assert first.number in output
    registrar = User.objects.get(username="xueji_liuzhong")
    school = Organisation.objects.get(code="1420102004")
    found = find_graduate(
        number=first.number, name=first.name, id_number=first.id_number, by=registrar, school=school
    )
    seventh = school.grades.get(level=7).classes.order_by("name").first()
    intake = admit([(found, seventh)], by=registrar, school=school)
    assert intake.approval.current_step.node == school
    # Again: nothing more is graduated.
    count = graduates.count()
    call_command("seed_demo", class_size=1)
    assert Student.objects.filter(school__code="1420111001", status=Status.GRADUATED).count() == count
