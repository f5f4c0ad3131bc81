"""The chart of /stats and ``intake-bot stats --chart``: the same figures as the text, drawn.

A county's reporting clerk pastes charts into the reports sent upward. One PNG holds a
panel for each: applications sent per week by where they stand now, by region, by each
answer the flow counts (the special groups, the help wanted, what happened, ...), and the
amount approved per month. Every label is in the reader's language.

``build`` turns the figures into plain data (``Chart``: titles, labels, numbers), ``draw``
lays that out with matplotlib, ``png`` gives the file's bytes. Drawing takes a good part
of a second: callers in the bot run it in a worker thread. The figure is made with
matplotlib's object API (no pyplot, no window, no global figure), and the fonts come with
the package (bot/chartfonts.py), so no character is drawn as a box.
"""

from __future__ import annotations

import datetime as dt
import io
import textwrap
import threading
from dataclasses import dataclass

from babel.dates import format_skeleton
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot import chartfonts
from bot.cards import staff_status
from bot.casework.terms import fen_to_yuan
from bot.flow.values import strip_bidi
from bot.i18n import Tr
from bot.regions import region_text
from bot.stats import STATUS_ORDER, Figures

# One colour per status, the same in every chart: greens for help given, greys for ended.
STATUS_COLOURS = {
    "draft": "#c7c7c7",
    "submitted": "#4e79a7",
    "in_review": "#f28e2b",
    "awaiting_applicant": "#edc948",
    "approved": "#59a14f",
    "declined": "#e15759",
    "withdrawn": "#9c9c9c",
    "expired": "#bab0ac",
}
BAR_COLOUR = "#4e79a7"
SECOND_COLOUR = "#59a14f"


@dataclass(frozen=True)
class Series:
    """One set of bars: its name in the legend (empty: no legend), a value per category."""

    name: str
    values: tuple[float, ...]
    colour: str = BAR_COLOUR


@dataclass(frozen=True)
class Panel:
    """One chart of the page. ``stacked``: upright bars stacked by series (weeks);
    ``columns``: upright bars with their value written on top (months); ``bars``: lying
    bars side by side (answers, regions: their labels are long)."""

    title: str
    kind: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    value_labels: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.categories or not any(v for s in self.series for v in s.values)


@dataclass(frozen=True)
class Chart:
    title: str
    nothing: str  # written in a panel with no data
    panels: tuple[Panel, ...]


def _plain(text: str) -> str:
    """Text as matplotlib draws it: it orders each label itself, so the LRM marks that
    keep numbers in place in the chat's right-to-left lines are left out."""
    return strip_bidi(text)


def _wrap(text: str, width: int) -> str:
    """A long label on several lines: at spaces where the language has them, else (Chinese)
    after ``width`` characters."""
    if " " in text.strip():
        return "\n".join(textwrap.wrap(text, width)) or text
    return "\n".join(text[i : i + width] for i in range(0, len(text), width)) or text


def _day(tr: Tr, iso: str) -> str:
    return _plain(format_skeleton("MMMd", dt.date.fromisoformat(iso[:10]), locale=tr.locale))


def _month(tr: Tr, month: str) -> str:
    return _plain(format_skeleton("yMMM", dt.date.fromisoformat(month + "-01"), locale=tr.locale))


def build(tr: Tr, f: Figures) -> Chart:
    """The chart of ``f`` in the reader's language, as data."""
    _ = tr.gettext
    flow = f.flow
    lang = flow.language_for(tr.lang)
    panels: list[Panel] = []

    weeks = [week for week, _counts in f.by_week_status]
    statuses = [s for s in STATUS_ORDER if any(c.get(s) for _w, c in f.by_week_status)]
    panels.append(
        Panel(
            _("Applications sent per week, by status now"),
            "stacked",
            tuple(_day(tr, w) for w in weeks),
            tuple(
                Series(
                    _plain(staff_status(tr, s)),
                    tuple(float(c.get(s, 0)) for _w, c in f.by_week_status),
                    STATUS_COLOURS.get(s, BAR_COLOUR),
                )
                for s in statuses
            ),
        )
    )

    regions = list(f.by_region)
    panels.append(
        Panel(
            _("Applications by region"),
            "bars",
            tuple(_wrap(_plain(region_text(tr, flow, r.region)), 24) for r in regions),
            (
                Series(_("sent"), tuple(float(r.sent) for r in regions)),
                Series(_("approved"), tuple(float(r.approved) for r in regions), SECOND_COLOUR),
            ),
        )
    )

    for step_id, counts in f.by_step:
        if not flow.has_step(step_id):
            continue
        step = flow.step(step_id)
        choices = [c for c in step.choices if counts.get(c.value)]
        if not choices:
            continue  # a question nobody answered yet: no panel, as in the text
        panels.append(
            Panel(
                _wrap(_plain(flow.pick(step.text, lang)), 40),
                "bars",
                tuple(_wrap(_plain(flow.pick(c.label, lang)), 22) for c in choices),
                (Series("", tuple(float(counts[c.value]) for c in choices)),),
            )
        )

    months = f.approved_by_month
    panels.append(
        Panel(
            _("Amount approved per month (yuan)"),
            "columns",
            tuple(_month(tr, m) for m, _fen in months),
            (Series("", tuple(float(fen_to_yuan(fen)) for _m, fen in months), SECOND_COLOUR),),
            tuple(_plain(tr.money(fen_to_yuan(fen))) for _m, fen in months),
        )
    )
    return Chart(_("Statistics"), _("No data yet"), tuple(panels))


# -- drawing ---------------------------------------------------------------------------------

_COLUMNS = 2
_draw_lock = threading.Lock()  # rc_context changes matplotlib's process-wide settings


def draw(chart: Chart) -> Figure:
    """The chart laid out on a page of two columns of panels."""
    families = chartfonts.register()
    rows = max(1, -(-len(chart.panels) // _COLUMNS))
    with _draw_lock, rc_context({"font.family": list(families), "font.size": 10}):
        fig = Figure(figsize=(13, 4.2 * rows), dpi=100, layout="constrained")
        fig.suptitle(chart.title, fontsize=15)
        axes = fig.subplots(rows, _COLUMNS, squeeze=False).flatten()
        for ax, panel in zip(axes, chart.panels, strict=False):
            _panel(ax, panel, chart.nothing)
        for ax in axes[len(chart.panels) :]:
            ax.set_axis_off()
        fig.canvas.draw()  # fonts and layout are resolved here, inside the settings
    return fig


def _panel(ax: object, panel: Panel, nothing: str) -> None:
    from matplotlib.axes import Axes

    assert isinstance(ax, Axes)
    ax.set_title(panel.title, fontsize=11)
    if panel.empty:
        ax.text(0.5, 0.5, nothing, ha="center", va="center", transform=ax.transAxes, color="0.4")
        ax.set_xticks([])
        ax.set_yticks([])
        return
    positions = list(range(len(panel.categories)))
    if panel.kind == "stacked":
        bottom = [0.0] * len(positions)
        for s in panel.series:
            ax.bar(positions, s.values, bottom=bottom, label=s.name, color=s.colour)
            bottom = [b + v for b, v in zip(bottom, s.values, strict=True)]
        ax.set_xticks(positions, panel.categories, rotation=45, ha="right")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8, loc="upper left")
    elif panel.kind == "columns":
        [s] = panel.series
        bars = ax.bar(positions, s.values, color=s.colour)
        ax.bar_label(bars, panel.value_labels, fontsize=8)
        ax.set_xticks(positions, panel.categories, rotation=45, ha="right")
        ax.margins(y=0.15)
    else:
        n = len(panel.series)
        height = 0.8 / n
        for i, s in enumerate(panel.series):
            shift = (i - (n - 1) / 2) * height
            ax.barh(
                [p + shift for p in positions],
                s.values,
                height=height,
                color=s.colour,
                label=s.name or None,
            )
        ax.set_yticks(positions, panel.categories, fontsize=8)
        ax.invert_yaxis()  # the first choice on top, as the flow lists them
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if any(s.name for s in panel.series):
            ax.legend(fontsize=8, loc="lower right")


def png(chart: Chart) -> bytes:
    """The chart as PNG bytes."""
    fig = draw(chart)
    out = io.BytesIO()
    with _draw_lock, rc_context({"font.family": list(chartfonts.FAMILIES)}):
        fig.savefig(out, format="png")
    return out.getvalue()
