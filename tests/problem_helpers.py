"""Planted data for the problem-record tests: one case of every kind, and a clean student.

Records that the services would refuse today (two live registrations of one person, an ID with a
wrong check digit) are what old imports left behind: they are planted by writing the rows, as the
detection meets them in real databases.
"""

from datetime import date
from types import SimpleNamespace

from registrar.services import create_class
from students.models import Status, Student
from students.services import apply_key_changes
from tests.student_helpers import make_id
from tests.transfer_helpers import enrolled


def plant(student, **fields):
    Student.objects.filter(pk=student.pk).update(**fields)
    student.refresh_from_db()
    return student


def bad_check(number):
    return number[:17] + ("0" if number[17] != "0" else "1")


def planted_world(tree):
    school, sixth, other = tree["1420102001"], tree["1420102004"], tree["1420506003"]
    ours = create_class(school.grades.get(level=1), by=None, name="2班")
    theirs = create_class(sixth.grades.get(level=7), by=None, name="1班")
    far = create_class(other.grades.get(level=1), by=None, name="1班")
    w = SimpleNamespace(school=school, sixth=sixth, other=other, ours=ours, theirs=theirs, far=far)
    w.clean = enrolled(ours, name="王清白")
    # The same person twice, both live: the second under the first 17 digits and another check digit.
    w.first = enrolled(ours, name="李双籍")
    w.second = enrolled(theirs, name="李双籍")
    plant(
        w.second, id_number=bad_check(w.first.id_number), birth_date=w.first.birth_date, gender=w.first.gender
    )
    # Live against graduated: the graduate's number registered again.
    w.graduate = enrolled(far, name="赵毕业")
    plant(w.graduate, status=Status.GRADUATED)
    w.again = enrolled(ours, name="赵毕业")
    plant(w.again, id_number=w.graduate.id_number, birth_date=w.graduate.birth_date, gender=w.graduate.gender)
    # Without an ID: the same name, sex and birth date, one closed and one live.
    w.left = enrolled(ours, name="钱无证")
    plant(w.left, id_type="Z", id_number="", status=Status.LEFT)
    w.back = enrolled(theirs, name="钱无证")
    plant(w.back, id_type="Z", id_number="", gender=w.left.gender, birth_date=w.left.birth_date)
    # Invalid IDs: a wrong check digit; a valid ID of a four-year-old in grade 1.
    w.bad = enrolled(ours, name="孙校验")
    plant(w.bad, id_number=bad_check(w.bad.id_number))
    w.young = enrolled(ours, name="周年幼")
    today = date.today()
    young_birth = date(today.year - 1, 1, 10)
    plant(
        w.young,
        birth_date=young_birth,
        id_number=make_id(birth=young_birth, sequence=1 if w.young.gender == "1" else 2),
    )
    # A changed ID: the record let its number go (history), and another record holds it now.
    w.changer = enrolled(ours, name="吴改号")
    old_number = w.changer.id_number
    apply_key_changes(
        w.changer,
        {"id_number": make_id(birth=w.changer.birth_date, sequence=801 if w.changer.gender == "1" else 802)},
        by=None,
        reason="test",
    )
    w.holder = enrolled(far, name="郑持号")
    plant(w.holder, id_number=old_number, birth_date=w.changer.birth_date, gender=w.changer.gender)
    return w


def expected_findings(w):
    return {
        ("duplicate_id", w.second.pk, w.first.pk),
        ("invalid_id", w.second.pk, None),
        ("duplicate_id", w.again.pk, w.graduate.pk),
        ("duplicate_person", w.back.pk, w.left.pk),
        ("invalid_id", w.bad.pk, None),
        ("invalid_id", w.young.pk, None),
        ("changed_id", w.changer.pk, w.holder.pk),
    }
