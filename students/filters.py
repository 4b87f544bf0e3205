"""The roster's filters (school, grade, class, status, search): the page, its print and its export."""

import re

from django import forms
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Q, Sum
from django.db.models.functions import Length
from django.forms.models import ModelChoiceIterator
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from registrar.choices import Role
from registrar.limits import TooManyLookups, check_lookup, record_lookup
from registrar.models import Organisation, SchoolClass, grade_name
from reports.models import StudentCount, stored_counts_kept
from students.identity import normalise_id_number
from students.models import ProblemRecord, Status, Student
from students.privacy import mask_id

# Text that is a number rather than a name: an ID number of any type or a 学籍号 (no Han
# characters). These are found only whole: a prefix search, one character at a time, would recover
# a masked number.
NUMBER_LIKE_RE = re.compile(r"^(?=.*[0-9])[0-9A-Z()-]{4,30}$")
SEARCH_ACTION = "students.search.by_number"


def with_open_problem():
    """Students named by an open problem record (问题学籍), as either party of a pair."""
    records = ProblemRecord.objects.unresolved()
    return Exists(records.filter(student=OuterRef("pk"))) | Exists(
        records.filter(other_student=OuterRef("pk"))
    )


# Columns a school's roster can be sorted by (`sort=name`, `sort=-name` for the other way), beside the
# default: by class and 班内学号, then pinyin. Across many schools the roster keeps the index's order
# (school, grade, class, name): sorting a county's or a city's students by any column on every page
# would cost a full sort; a user sorts one school's roster.
SORTS = {
    "number": ("number",),
    "name": ("name_pinyin", "name"),
    "birth": ("birth_date",),
    "grade": ("grade__level", Length("school_class__name"), "school_class__name"),
    "status": ("status",),
}


def _descending(key):
    return key.desc() if hasattr(key, "desc") else f"-{key}"


class PlainSelect(forms.Select):
    """A <select> written in Python rather than through one template per option: the same HTML,
    but a city's hundreds of schools no longer cost most of the roster page's time."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (option["value"], mark_safe(" selected") if option["selected"] else "", option["label"])
                for _group, group_options, _index in widget["optgroups"]
                for option in group_options
            ),
        )
        # The attributes in the order Django's template writes them (True: the name alone).
        attributes = format_html_join(
            "",
            "{}",
            (
                (format_html(" {}", key) if value is True else format_html(' {}="{}"', key, value),)
                for key, value in widget["attrs"].items()
                if value is not False and value is not None
            ),
        )
        return format_html('<select name="{}"{}>{}</select>', widget["name"], attributes, options)


class ListedChoiceIterator(ModelChoiceIterator):
    """The choices read in one query. Django's reads them with iterator(), which on PostgreSQL is a
    server-side cursor: three round trips (DECLARE, FETCH, CLOSE) for a city's 500 schools."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)


class ListedChoiceField(forms.ModelChoiceField):
    iterator = ListedChoiceIterator


class RosterFilterForm(forms.Form):
    school = ListedChoiceField(
        label=_("School"),
        queryset=Organisation.objects.none(),
        required=False,
        to_field_name="code",
        widget=PlainSelect,
    )
    grade = forms.TypedChoiceField(label=_("Grade"), coerce=int, required=False, empty_value=None)
    school_class = ListedChoiceField(
        label=_("Class"), queryset=SchoolClass.objects.none(), required=False, widget=PlainSelect
    )
    status = forms.ChoiceField(label=_("Status"), required=False)
    problem = forms.BooleanField(label=_("Open problem record"), required=False)
    per = forms.TypedChoiceField(
        label=_("Per page"),
        coerce=int,
        required=False,
        empty_value=None,
        choices=[("", "50"), ("25", "25"), ("100", "100"), ("200", "200")],
    )
    sort = forms.ChoiceField(
        required=False,
        widget=forms.HiddenInput,
        choices=[("", ""), *((f"{sign}{key}", key) for key in SORTS for sign in ("", "-"))],
    )
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=50,
        help_text=_("The start of a name, or a whole registration number or ID number"),
    )

    def __init__(self, data, *, user):
        super().__init__(data)
        self.user = user
        schools = Organisation.objects.visible_to(user).schools().order_by("path")
        self.fields["school"].queryset = schools
        self.fields["school"].empty_label = _("All schools")
        self.fields["status"].choices = [("", _("Every status")), *Status.choices]
        school = self._chosen_school(schools)
        if school is not None:
            self.fields["grade"].choices = [("", _("All grades"))] + [
                (level, grade_name(level, school.segment_of_level(level))) for level in school.grade_levels()
            ]
            classes = SchoolClass.objects.filter(grade__school=school).select_related("grade__school")
            # The class follows the grade chosen; a class teacher is offered only the classes they lead.
            level = str(self.data.get("grade") or "")
            if level.isdigit() and len(level) < 3:
                classes = classes.filter(grade__level=int(level))
            if user.has_role(Role.CLASS_TEACHER) and not user.has_role(Role.SCHOOL_REGISTRAR, Role.PRINCIPAL):
                classes = classes.filter(pk__in=user.classes.all())
            self.fields["school_class"].queryset = classes.order_by("grade__level", Length("name"), "name")
            self.fields["school_class"].label_from_instance = lambda school_class: str(school_class)
        else:
            self.fields["grade"].choices = [("", _("All grades"))] + [
                (level, grade_name(level)) for level in range(1, 13)
            ]
        self.fields["school_class"].empty_label = _("All classes")
        self.school = school

    def _chosen_school(self, schools):
        user_node = self.user.node
        if user_node is not None and user_node.is_school:
            self.fields["school"].widget = forms.HiddenInput()
            return user_node
        code = self.data.get("school")
        return schools.filter(code=code).first() if code else None

    def _narrow(self, queryset):
        """The school, grade, class and status chosen (valid ones), on students or on their counts."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        if self.school is not None:
            queryset = queryset.filter(school=self.school)
        if data.get("grade"):
            queryset = queryset.filter(grade__level=data["grade"])
        if data.get("school_class"):
            queryset = queryset.filter(school_class=data["school_class"])
        if data.get("status"):
            queryset = queryset.filter(status=data["status"])
        return queryset

    def counts(self):
        """The stored counts of the students this filter shows (reports/models.py), or None when
        they must be counted: a search, or a database that keeps no counts (SQLite)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {}) or {}
        # The stored counts know nothing of searches or problem records: those are counted.
        if not stored_counts_kept() or data.get("q") or data.get("problem"):
            return None
        return self._narrow(StudentCount.objects.visible_to(self.user))

    def filter(self, queryset):
        """Apply the valid filters; an invalid filter value is ignored and shown as an error."""
        queryset = self._narrow(queryset)
        data = getattr(self, "cleaned_data", {})
        if data.get("problem"):
            queryset = queryset.filter(with_open_problem())
        if data.get("q"):
            queryset = queryset.filter(self._search(data["q"], queryset))
        if self.school is None:
            # Across many schools, walk the roster index (school, grade, class, name) instead of
            # sorting a county's or city's students for every page.
            return queryset.order_by("school_id", "grade_id", "school_class_id", "name", "id")
        # By class and 班内学号 as numbers are read (2班 before 10班, 9 before 10), then by pinyin.
        order = [
            "grade__level",
            Length("school_class__name"),
            "school_class__name",
            Length("class_number"),
            "class_number",
            "name_pinyin",
            "name",
            "id",
        ]
        sort = data.get("sort") or ""
        keys = SORTS.get(sort.lstrip("-"))
        if keys:
            chosen = [_descending(key) for key in keys] if sort.startswith("-") else list(keys)
            order = [*chosen, *order]
        return queryset.order_by(*order)

    @property
    def sorted_by(self):
        """The column the roster is sorted by and whether downwards: ("name", False)."""
        sort = (getattr(self, "cleaned_data", None) or {}).get("sort") or ""
        return sort.lstrip("-"), sort.startswith("-")

    def _search(self, text, queryset):
        try:
            return student_search(self.user, text, queryset)
        except TooManyLookups as error:
            self.add_error("q", error.message)
            return Q(pk__in=[])

    def describe(self):
        """The filter in words, for export logs and print headers."""
        data = getattr(self, "cleaned_data", {}) or {}
        parts = []
        if self.school is not None:
            parts.append(self.school.name)
        for key in ("grade", "school_class", "status", "q"):
            value = data.get(key)
            if value:
                field = self.fields[key]
                if key in ("grade", "status"):
                    value = dict(field.choices).get(value, value)
                parts.append(f"{field.label}：{value}")
        if data.get("problem"):
            parts.append(str(self.fields["problem"].label))
        return "；".join(str(part) for part in parts)


def student_search(user, text, queryset, *, path=""):
    """The condition of a search box over students (`path`: the lookup to the student, e.g.
    "student__"): a name from its start; a 学籍号 or ID number whole, logged and counted
    (registrar/limits.py: TooManyLookups past the hour's allowance)."""
    number = searched_number(text)
    if number is None:
        return Q(**{f"{path}name__startswith": text.strip()})
    check_lookup(user, SEARCH_ACTION)
    condition = Q(**{f"{path}number": number}) | Q(**{f"{path}id_number": number})
    record_lookup(user, SEARCH_ACTION, query=mask_id(number), found=queryset.filter(condition).count())
    return condition


def searched_number(text):
    """The 学籍号 or ID number a search asks for (normalised), or None when it is a name."""
    compact = normalise_id_number(text)
    return compact if NUMBER_LIKE_RE.match(compact) else None


class RosterPaginator(Paginator):
    """Pages of the roster that neither count nor skip a million students one by one.

    With `counts` (the stored counts of the same students, RosterFilterForm.counts): the total is
    their sum, exact and read from a few thousand rows; and a page of a roster that spans schools
    (ordered by school first) starts at the school that holds its first row, found from the counts
    per school, so that the database skips at most one school's students rather than all before.
    Without: Django's paginator (a COUNT and an OFFSET).
    """

    def __init__(self, object_list, per_page, *, counts=None, by_school=False):
        super().__init__(object_list, per_page)
        self.counts = counts
        self.by_school = by_school

    @cached_property
    def count(self):
        if self.counts is None:
            return super().count
        if self.by_school:
            return sum(count for _school_id, count in self.per_school)
        return self.counts.aggregate(n=Sum("students"))["n"] or 0

    @cached_property
    def per_school(self):
        """(school id, students) of each school, in the roster's order: one query for the total
        and for the school a page starts in."""
        return list(self.counts.values_list("school_id").annotate(n=Sum("students")).order_by("school_id"))

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        if top + self.orphans >= self.count:
            top = self.count
        students = self.object_list
        if self.counts is not None and self.by_school and number > 1:
            before, first = 0, None
            for school_id, count in self.per_school:
                if before + count > bottom:
                    first = school_id
                    break
                before += count
            students = students.filter(school_id__gte=first)
            bottom, top = bottom - before, top - before
        return self._get_page(page_rows(students, bottom, top), number, self)


def page_rows(students, bottom, top):
    """The students of rows bottom..top of `students` (ordered): first their ids, then those rows.

    Sorting a school's 2,000 students whole (every column, and the school, grade and class joined
    to each) to keep 50 cost the roster page most of its time; sorting only their ids and the keys
    is a few milliseconds, and the 50 rows are then read by primary key."""
    ids = list(students.values_list("pk", flat=True)[bottom:top])
    if not ids:
        return []
    rows = {student.pk: student for student in students.order_by().filter(pk__in=ids)}
    return [rows[pk] for pk in ids if pk in rows]


def roster_queryset(user):
    return Student.objects.visible_to(user).select_related(
        "school", "grade__school", "school_class__grade__school"
    )
