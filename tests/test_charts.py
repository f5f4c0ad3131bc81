"""The chart of /stats: a real PNG of the figures, and every character drawn in it has a
glyph in the fonts that come with the package (a box instead of a Chinese or Uyghur
letter is a defect a reader sees at once)."""

from __future__ import annotations

import datetime as dt
import struct
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from matplotlib import font_manager
from matplotlib.text import Text

from bot import chartfonts, charts, stats
from bot.i18n import I18n
from bot.regions import Scope
from tests.test_stats import MON, World, approve, sent, w, world_of_intakes  # noqa: F401

LANGS = ("zh_Hans", "ug", "en")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG's header chunk."""
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def drawn_texts(chart: charts.Chart) -> list[str]:
    """Every piece of text the drawn figure holds: titles, tick labels (the axes' numbers
    too), legends, the amounts over the bars."""
    fig = charts.draw(chart)
    texts = [t for t in fig.findobj(Text) if t.get_text() and t.get_visible()]
    # Each is drawn in the fonts checked below, in their order, and nothing else.
    assert {tuple(t.get_fontfamily()) for t in texts} == {chartfonts.FAMILIES}
    return [t.get_text() for t in texts]


def font_cmaps() -> list[tuple[str, set[int]]]:
    """The characters of each font matplotlib resolves for the charts' families, in order
    (no stand-in: a family that is not installed fails here)."""
    chartfonts.register()
    out = []
    for family in chartfonts.FAMILIES:
        path = font_manager.findfont(
            font_manager.FontProperties(family=family), fallback_to_default=False
        )
        index = getattr(path, "face_index", 0)
        font = TTFont(str(path), fontNumber=index, lazy=True)
        try:
            out.append((family, set(font.getBestCmap())))
        finally:
            font.close()
    return out


def flat(text: str) -> str:
    """A title without the breaks wrapping put in it."""
    return text.replace("\n", "").replace(" ", "")


def missing(texts: list[str], cmaps: list[tuple[str, set[int]]]) -> set[str]:
    return {
        ch
        for text in texts
        for ch in text
        if ch not in "\n" and not any(ord(ch) in cmap for _family, cmap in cmaps)
    }


async def test_the_chart_is_a_png_of_a_readable_size(w: World) -> None:  # noqa: F811
    await world_of_intakes(w)
    tr = I18n.load().tr("zh_Hans")
    data = charts.png(charts.build(tr, await stats.figures(w.store)))
    width, height = png_size(data)
    assert width >= 1000 and height >= 1000
    assert len(data) > 20_000  # drawn, not an empty page


async def test_the_panels_hold_the_figures_in_the_readers_language(w: World) -> None:  # noqa: F811
    await world_of_intakes(w)
    tr = I18n.load().tr("en")
    chart = charts.build(tr, await stats.figures(w.store))
    titles = [p.title for p in chart.panels]
    assert titles[0] == "Applications sent per week, by status now"
    assert "Amount approved per month (yuan)" in titles
    weekly = chart.panels[0]
    assert weekly.categories == ("Mar 3", "Mar 10")
    by_status = {s.name: s.values for s in weekly.series}
    # Week of Mar 3: two sent, both approved since; week of Mar 10: one of each.
    assert by_status["approved"] == (2.0, 0.0)
    assert sum(sum(v) for v in by_status.values()) == 6  # the withdrawn one too
    flow = await w.store.flows.active()
    groups = next(p for p in chart.panels if flat(p.title) == flat(flow.step("groups").text["en"]))
    assert max(groups.series[0].values) == 2.0  # two applicants with a disability
    needs = next(p for p in chart.panels if p.title == "What help is needed most?")
    counted = dict(zip(map(flat, needs.categories), needs.series[0].values, strict=True))
    assert counted[flat("An assistance payment (救助金)")] == 2.0
    money = chart.panels[-1]
    assert money.categories == ("Mar 2025",)
    assert money.series[0].values == (4234.5,)
    assert money.value_labels == ("CN¥4,234.50",)


@pytest.mark.parametrize("lang", LANGS)
async def test_every_character_drawn_has_a_glyph(w: World, lang: str) -> None:  # noqa: F811
    await world_of_intakes(w)
    tr = I18n.load().tr(lang)
    texts = drawn_texts(charts.build(tr, await stats.figures(w.store)))
    joined = "".join(texts)
    if lang == "zh_Hans":
        assert "申请" in joined
    if lang == "ug":
        assert any("\u0600" <= ch <= "\u06ff" for ch in joined)
    assert missing(texts, font_cmaps()) == set()


def test_the_check_would_find_a_letter_the_fonts_lack() -> None:
    # Without the fonts that come with the package, Chinese and Uyghur have no glyph.
    dejavu = [c for c in font_cmaps() if c[0] == "DejaVu Sans"]
    assert missing(["申请", "ئىلتىماس"], dejavu) >= {"申", "请"}
    assert missing(["申请 ئىلتىماس ې ۆ ۈ ۋ ڭ"], font_cmaps()) == set()


async def test_a_region_with_nothing_yet_gets_a_chart_saying_so(w: World) -> None:  # noqa: F811
    await world_of_intakes(w)
    tr = I18n.load().tr("en")
    chart = charts.build(tr, await stats.figures(w.store, Scope(frozenset({"653222"}))))
    assert all(p.empty for p in chart.panels)
    assert "No data yet" in drawn_texts(chart)
    assert png_size(charts.png(chart))[0] >= 1000


def test_fonts_are_files_of_the_installed_packages() -> None:
    for path in chartfonts.font_files():
        assert Path(path).is_file() and Path(path).stat().st_size > 100_000


async def test_amounts_are_per_month_of_decision(w: World) -> None:  # noqa: F811
    first = await sent(w, MON)
    second = await sent(w, MON)
    await approve(w, first, "100", MON + dt.timedelta(days=1))
    await approve(w, second, "250", MON + dt.timedelta(days=40))
    assert await w.store.stats.approved_by_month() == [("2025-03", 10000), ("2025-04", 25000)]
