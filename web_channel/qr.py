"""The QR code of the web chat's address, for a poster or a caseworker's card."""

from __future__ import annotations

from pathlib import Path

import segno


def write_qr(url: str, path: Path) -> None:
    """A PNG of ``url`` as a QR code, large enough to print (error correction M: a poster
    scanned in poor light or a little creased still reads)."""
    segno.make(url, error="m", micro=False).save(str(path), kind="png", scale=10, border=4)
