"""Login throttling rules for django-axes (settings.AXES_FAILURE_LIMIT and AXES_LOCKOUT_PARAMETERS).

Two rules, counted over the cool-off time:
- LOGIN_FAILURE_LIMIT wrong passwords for one user name from one address lock that user name there;
- LOGIN_ADDRESS_FAILURE_LIMIT wrong passwords from one address, whatever the user names, lock the
  address: guessing a few passwords for each of many user names is stopped too. The limit is higher,
  since a school office sends all its staff's logins from one address.

axes compares one limit with the largest count among its parameter groups, and the address's count
is never below a user name's there; so the limit is the address limit until the user name has
reached its own.
"""

from axes.attempts import get_cool_off_threshold
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum

USER_AT_ADDRESS = ["username", "ip_address"]
ADDRESS = "ip_address"


def lockout_parameters(request, credentials=None):
    # A successful login resets the attempts of these groups: only the user's own, so that logging in
    # to one's own account does not wipe the address's count of failures for other user names.
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return [USER_AT_ADDRESS]
    return [USER_AT_ADDRESS, ADDRESS]


def failure_limit(request, credentials=None):
    failures = (
        AccessAttempt.objects.filter(
            username=get_client_username(request, credentials),
            ip_address=request.axes_ip_address,
            attempt_time__gte=get_cool_off_threshold(request),
        ).aggregate(total=Sum("failures_since_start"))["total"]
        or 0
    )
    if failures >= settings.LOGIN_FAILURE_LIMIT:
        return settings.LOGIN_FAILURE_LIMIT
    return settings.LOGIN_ADDRESS_FAILURE_LIMIT
