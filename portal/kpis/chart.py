"""The dashboard's chart, laid out here and drawn as SVG by ``templates/kpis/chart.svg``.

None of the charting libraries that write SVG (pygal, svgwrite, leather, drawsvg,
matplotlib) is installed, and a grouped bar chart is a few rectangles: the layout is
computed here, where it is tested, and the template only writes it out (Jinja escapes every
label). Colours come with a legend and the numbers are written beside each
bar, so nothing is told by colour alone; the same figures are in the table beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 420
LABEL_WIDTH = 120
BAR_HEIGHT = 14
BAR_GAP = 2
GROUP_GAP = 18
TOP = 40
#: Room on the right of the longest bar for its number.
VALUE_ROOM = 56


@dataclass(frozen=True)
class Series:
    name: str
    #: Its fill, as an SVG attribute (the page's policy allows no inline style), each
    #: with a contrast of 3:1 or more on white.
    colour: str


@dataclass(frozen=True)
class Bar:
    series: Series
    value: int
    x: float
    y: float
    width: float
    height: float

    @property
    def text_x(self) -> float:
        return self.x + self.width + 4


@dataclass(frozen=True)
class Group:
    label: str
    label_y: float
    bars: list[Bar]


@dataclass(frozen=True)
class BarChart:
    title: str
    description: str
    series: list[Series]
    groups: list[Group]
    width: int
    height: int
    label_width: int = LABEL_WIDTH

    @property
    def legend(self) -> list[tuple[Series, float]]:
        """Each series with the x of its swatch, in one row above the bars."""
        return [(s, LABEL_WIDTH + n * 100.0) for n, s in enumerate(self.series)]


def grouped_bars(
    title: str,
    description: str,
    series: Sequence[Series],
    rows: Sequence[tuple[str, Sequence[int]]],
) -> BarChart:
    """Horizontal bars, one group per row (its label on the left), one bar per series,
    scaled to the largest value."""
    largest = max((v for _label, values in rows for v in values), default=0) or 1
    room = WIDTH - LABEL_WIDTH - VALUE_ROOM
    groups = []
    y = float(TOP)
    group_height = len(series) * (BAR_HEIGHT + BAR_GAP)
    for label, values in rows:
        bars = [
            Bar(
                series=s,
                value=value,
                x=float(LABEL_WIDTH),
                y=y + n * (BAR_HEIGHT + BAR_GAP),
                width=round(room * value / largest, 1),
                height=float(BAR_HEIGHT),
            )
            for n, (s, value) in enumerate(zip(series, values, strict=True))
        ]
        groups.append(Group(label=label, label_y=y + group_height / 2, bars=bars))
        y += group_height + GROUP_GAP
    return BarChart(
        title=title,
        description=description,
        series=list(series),
        groups=groups,
        width=WIDTH,
        height=int(y),
    )
