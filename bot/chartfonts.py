"""The fonts charts are drawn in, and how matplotlib finds them.

A chart with boxes instead of characters is a defect, and the machines the bot runs on
often have no Chinese or Arabic-script fonts at all. So the fonts come with the package's
dependencies, never from the system: Noto Sans CJK (the ``noto-cjk-sans-otc`` package,
whose collection holds a Simplified Chinese face) and Noto Sans Arabic (the
``fontpkg-noto-sans-arabic`` package, which covers the letters only Uyghur uses: ې ۆ ۈ ۋ
ڭ ھ ە). matplotlib (3.11 and newer) shapes and orders right-to-left text itself (libraqm),
so Uyghur is drawn joined and in its own order without reshaping it first.

``FAMILIES`` is matplotlib's fallback list: each character is drawn in the first font
that has it, so one label may mix Chinese, Uyghur and Latin.
"""

from __future__ import annotations

import threading
from importlib.resources import as_file, files
from pathlib import Path

# The package and file of each font, and the family it registers, in fallback order:
# Chinese (and Latin, digits and punctuation) first, then Arabic script.
_FONTS = (
    ("noto_cjk_sans_otc", "NotoSansCJK-Regular.ttc"),
    ("fontpkg_noto_sans_arabic", "files/NotoSansArabic[wdth,wght].ttf"),
)
FAMILIES = ("Noto Sans CJK SC", "Noto Sans Arabic", "DejaVu Sans")

_lock = threading.Lock()
_registered = False


def font_files() -> list[Path]:
    """The font files the charts need, where their packages installed them."""
    out = []
    for package, name in _FONTS:
        resource = files(package).joinpath(name)
        with as_file(resource) as path:  # a real file for installed packages
            out.append(Path(path))
    return out


def register() -> tuple[str, ...]:
    """Make the fonts known to matplotlib (once per process); the family list to use."""
    global _registered
    with _lock:
        if not _registered:
            from matplotlib import font_manager

            for path in font_files():
                font_manager.fontManager.addfont(str(path))
            _registered = True
    return FAMILIES
