"""The rows of a report: the units one level below a node, and which of them each school belongs to."""

from dataclasses import dataclass

from registrar.choices import NodeKind
from registrar.models import Organisation
from reports.tables import Row


@dataclass
class Unit:
    """One row of a report: a child node, a grade or a class."""

    key: object
    label: str
    url: str = ""
    code: str = ""


def schools_under(node):
    return Organisation.objects.filter(path__startswith=node.path, kind=NodeKind.SCHOOL)


def region_units(node, url_of):
    """The children of a region as units (`url_of(child)` their drill-down), and the child each
    school under the region belongs to ({school pk: child code}), in two queries."""
    children = list(node.children.order_by("code"))
    units = [Unit(child.code, child.name, url_of(child), child.code) for child in children]
    depth = len(node.path)
    owner = {
        school_id: path[depth:].split("/", 1)[0]
        for school_id, path in schools_under(node).values_list("pk", "path")
    }
    return units, owner


def unit_rows(units, counts):
    """A row per unit, with its counts (none: zeros)."""
    return [Row(unit.label, counts.get(unit.key, {}), url=unit.url, code=unit.code) for unit in units]
