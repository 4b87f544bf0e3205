from django.core.management import call_command

from registrar.models import User
from verification.demo import DEMO_TITLE
from verification.models import AttendanceCheck, Campaign, ConfirmationForm, Outcome


def test_the_demo_has_an_open_campaign_with_some_progress(db):
    call_command("seed_demo", class_size=6)
    campaign = Campaign.objects.get(title=DEMO_TITLE)
    assert campaign.is_open and campaign.node.code == "420102"
    outcomes = list(ConfirmationForm.objects.filter(campaign=campaign).values_list("outcome", flat=True))
    assert Outcome.UNCHECKED in outcomes and Outcome.WRONG in outcomes and Outcome.CONSISTENT in outcomes
    teacher = User.objects.get(username="banzhuren_yucai")
    check = AttendanceCheck.objects.get(school_class__in=teacher.classes.all())
    assert check.absences.count() == 1
