"""The rules pages: a province's (or a delegated city's or county's) rules, and window exceptions."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from registrar.access import get_node_for
from registrar.choices import Role
from registrar.errors import DomainError
from registrar.models import AuditEvent
from rules import services
from rules.describe import describe
from rules.forms import RuleDeleteForm, RuleForm, WindowExceptionForm
from rules.models import RULE_NODE_KINDS, Rule, WindowException
from rules.reading import rules_for
from rules.topics import KEY_HELP, VALUE_HELP, Topic
from students.models import Student

VIEWER_ROLES = (Role.PROVINCE_ADMIN, Role.CITY_REVIEWER, Role.COUNTY_REVIEWER)


@require_GET
def home(request):
    """The rules of the user's own province, city or county."""
    user = request.user
    if user.node_id is None or user.node.kind not in RULE_NODE_KINDS or not user.has_role(*VIEWER_ROLES):
        raise PermissionDenied
    return redirect("rules:node", code=user.node.code)


def _rules_node(user, code):
    node = get_node_for(user, code, roles=VIEWER_ROLES)
    if node.kind not in RULE_NODE_KINDS:
        raise Http404
    return node


def _topics(node, user):
    """Per topic: its rows in force, each (key, value, set here?), and whether the user may edit it."""
    in_force = rules_for(node)
    own = set(Rule.objects.filter(node=node).values_list("topic", "key"))
    editable = set(services.editable_topics(node)) if services.may_edit_rules(user, node) else set()
    return [
        {
            "topic": topic,
            "key_help": KEY_HELP[topic],
            "value_help": VALUE_HELP[topic],
            "editable": topic in editable,
            "rows": [
                {
                    "key": key,
                    "value": value,
                    "own": (str(topic), key) in own,
                    "words": describe(topic, key, value),
                }
                for key, value in sorted(in_force.topic(topic).items())
            ],
        }
        for topic in Topic
    ]


@require_GET
def node_rules(request, code):
    node = _rules_node(request.user, code)
    topics = _topics(node, request.user)
    editable = [entry["topic"] for entry in topics if entry["editable"]]
    changes = AuditEvent.objects.filter(
        node=node, action__in=["rules.rule.changed", "rules.rule.deleted"]
    ).select_related("actor")[:50]
    return render(
        request,
        "rules/node.html",
        {
            "node": node,
            "topics": topics,
            "form": RuleForm(topics=editable) if editable else None,
            "changes": changes,
        },
    )


def _write(request, code, form_class, service, done):
    """A rules change posted from the page: the editor's own node, the service, a message, back."""
    node = _rules_node(request.user, code)
    if not services.may_edit_rules(request.user, node):
        raise PermissionDenied
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the topic, the key and the value of the rule."))
        return redirect("rules:node", code=node.code)
    try:
        service(node, by=request.user, **form.cleaned_data)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect("rules:node", code=node.code)


@require_POST
def set_rule(request, code):
    done = _("The rule was saved. It applies to requests started from now on.")
    return _write(request, code, RuleForm, services.set_rule, done)


@require_POST
def delete_rule(request, code):
    done = _("The row was removed: the rule above it applies again.")
    return _write(request, code, RuleDeleteForm, services.delete_rule, done)


@require_http_methods(["GET", "POST"])
def exceptions(request):
    """A county reviewer's window exceptions: those in force in the county, and a new one."""
    user = request.user
    if not services.may_open_exceptions(user):
        raise PermissionDenied
    form = WindowExceptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        student = (
            Student.objects.visible_to(user)
            .filter(number=form.cleaned_data["number"].strip())
            .select_related("school")
            .first()
        )
        if student is None:
            form.add_error("number", _("No student of your county has this registration number."))
        else:
            try:
                services.open_window_exception(
                    student,
                    kind=form.cleaned_data["kind"],
                    reason=form.cleaned_data["reason"],
                    expires_on=form.cleaned_data["expires_on"],
                    by=user,
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("The exception is open for %(name)s.") % {"name": student.name})
                return redirect("rules:exceptions")
    listed = (
        WindowException.objects.visible_to(user)
        .filter(expires_on__gte=timezone.localdate() - timedelta(days=90))
        .select_related("student__school", "opened_by", "approval")
    )
    return render(request, "rules/exceptions.html", {"form": form, "exceptions": listed[:100]})
