from django.core.management import call_command
from django.urls import reverse

from registrar.management.commands.seed_demo import DEMO_PASSWORD, DEMO_USERS
from registrar.models import AuditEvent, Grade, Organisation, SchoolClass, User
from students.models import Student


def snapshot():
    return (
        Organisation.objects.count(),
        Grade.objects.count(),
        SchoolClass.objects.count(),
        User.objects.count(),
        AuditEvent.objects.count(),
        Organisation.history.count(),
        SchoolClass.history.count(),
        Student.objects.count(),
        Student.history.count(),
    )


def test_seed_demo_builds_a_province_and_running_it_again_changes_nothing(db, capsys):
    call_command("seed_demo", class_size=1)
    output = capsys.readouterr().out
    assert DEMO_PASSWORD in output
    for username, *_ in DEMO_USERS:
        assert username in output
    schools = Organisation.objects.schools()
    assert 12 <= schools.count() <= 16
    assert Organisation.objects.filter(kind="city").count() == 2
    assert Organisation.objects.filter(kind="county").count() == 3
    assert {stage for school in schools for stage in school.stages} >= {
        "primary",
        "junior",
        "senior",
        "vocational",
    }
    assert Student.objects.filter(status="enrolled").count() > 100
    assert Student.objects.filter(status="registering").exists()
    before = snapshot()
    call_command("seed_demo", class_size=1)
    assert snapshot() == before


def test_each_demo_user_logs_in_and_sees_only_its_node(db, client):
    call_command("seed_demo", class_size=1)
    for username, _name, code, _roles in DEMO_USERS:
        client.logout()
        response = client.post(reverse("login"), {"username": username, "password": DEMO_PASSWORD})
        assert response.status_code == 302, username
        own = client.get(reverse("registrar:node", args=[code]))
        assert own.status_code == 200, username
        node = Organisation.objects.get(code=code)
        for other in Organisation.objects.exclude(path__startswith=node.path):
            assert client.get(reverse("registrar:node", args=[other.code])).status_code == 404, (
                username,
                other,
            )
