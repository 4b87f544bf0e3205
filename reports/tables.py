"""What every report is made of: tables of counts (rows, columns, a total) and the charts drawn
from them. The pages, the print and the Excel files all render these same objects, so a number is
computed once and shown the same everywhere."""

from collections import Counter
from dataclasses import dataclass, field

from django.utils.translation import gettext as _


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    # Numbers are right-aligned; counts are summed into the total row (a median is not).
    numeric: bool = True
    summed: bool = True


@dataclass
class Row:
    label: str
    values: dict
    # The drill-down: the same report one level further down ("" at the bottom of the tree).
    url: str = ""
    # The organisation code of a node's row, written into the Excel file beside the name.
    code: str = ""


@dataclass
class Table:
    title: str
    row_heading: str
    columns: list
    rows: list
    total: Row | None = None
    # The sheet's name in the Excel file (at most 31 characters, no []:*?/\).
    sheet: str = ""
    note: str = ""

    @classmethod
    def of_counts(cls, title, row_heading, columns, rows, **options):
        """A table whose total row sums its counts."""
        return cls(title, row_heading, columns, rows, total=total_row(rows, columns), **options)

    def values_of(self, row):
        return [row.values.get(column.key, 0 if column.summed else "") for column in self.columns]

    def cells_of(self, row):
        return [
            Cell(value, column.numeric)
            for value, column in zip(self.values_of(row), self.columns, strict=True)
        ]

    @property
    def lines(self):
        """The rows with their cells, for the templates."""
        return [Line(row, self.cells_of(row)) for row in self.rows]

    @property
    def total_cells(self):
        return self.cells_of(self.total) if self.total is not None else []


@dataclass(frozen=True)
class Cell:
    value: object
    numeric: bool

    @property
    def text(self):
        if self.value is None or self.value == "":
            return "—" if self.numeric else ""
        if isinstance(self.value, float):
            return f"{self.value:.1f}"
        return self.value


@dataclass(frozen=True)
class Line:
    row: Row
    cells: list


@dataclass
class Chart:
    """A bar chart: one bar (or one stack of bars) per category, one colour per series.
    `table` holds the same numbers for the table printed beside the chart."""

    chart_id: str
    title: str
    categories: list
    series: list  # [(name, [value per category]), …]
    stacked: bool = False
    horizontal: bool = False
    table: Table | None = field(default=None)

    @property
    def data_id(self):
        return f"{self.chart_id}-data"

    @property
    def wide(self):
        """Many series make a wide table: it goes below the chart instead of beside it."""
        return len(self.series) > 3

    def as_data(self):
        """What static/js/report-charts.js reads from the page's JSON element."""
        return {
            "id": self.chart_id,
            "title": str(self.title),
            "categories": [str(category) for category in self.categories],
            "series": [{"name": str(name), "data": list(values)} for name, values in self.series],
            "stacked": self.stacked,
            "horizontal": self.horizontal,
        }


def chart_table(chart, heading):
    """The chart's numbers as a table: one row per category, one column per series."""
    columns = [Column(f"s{index}", str(name)) for index, (name, _values) in enumerate(chart.series)]
    rows = [
        Row(str(category), {f"s{index}": values[position] for index, (_n, values) in enumerate(chart.series)})
        for position, category in enumerate(chart.categories)
    ]
    return Table.of_counts(chart.title, heading, columns, rows, sheet=str(chart.title)[:31])


def total_row(rows, columns, label=None):
    totals = Counter()
    for row in rows:
        for column in columns:
            if column.summed:
                totals[column.key] += row.values.get(column.key) or 0
    return Row(label or _("Total"), {column.key: totals[column.key] for column in columns if column.summed})


def add_counts(target, counts):
    for key, value in counts.items():
        target[key] = target.get(key, 0) + (value or 0)
