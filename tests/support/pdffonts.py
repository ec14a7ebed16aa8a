"""The fonts a PDF names, as poppler's `pdffonts` lists them (shares no code with srsform)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def pdf_fonts(pdf: Path) -> dict[str, bool]:
    """Every font the PDF's pages name, without its subset prefix: whether it is embedded."""
    out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True,
                         check=True).stdout
    fonts = {}
    for line in out.splitlines()[2:]:  # after the header and its underline
        words = line.split()
        # name, type (may hold spaces), encoding, then emb sub uni object-id generation
        fonts[words[0].split("+")[-1]] = words[-5] == "yes"
    return fonts
