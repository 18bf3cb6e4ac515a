"""Inline SVG icons from the pinned npm `lucide-static` (MIT), for templates: `{{ icon("check") }}`.

Read once from static/vendor (installed by `make install`) and cached; a missing file gives no icon rather than an
error, because every icon sits beside a visible text label (icons are `aria-hidden`, never the only meaning).
"""

from __future__ import annotations

import functools
import re

from markupsafe import Markup

from careers.core.config import PROJECT_ROOT

ICON_DIR = PROJECT_ROOT / "static" / "vendor" / "node_modules" / "lucide-static" / "icons"
_NAME = re.compile(r"^[a-z0-9-]+$")


@functools.lru_cache(maxsize=256)
def _svg(name: str) -> str:
    if not _NAME.match(name):
        return ""
    try:
        text = (ICON_DIR / f"{name}.svg").read_text(encoding="utf-8")
    except OSError:
        return ""
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL).strip()
    text = re.sub(r'\s(width|height|class)="[^"]*"', "", text)
    text = re.sub(r"\s+", " ", text).replace(" >", ">").replace(" />", "/>")
    return text.replace("<svg", '<svg class="icon" aria-hidden="true" focusable="false"', 1)


def icon(name: str) -> Markup:
    """The named Lucide icon as inline, decorative SVG (empty when the icon set is not installed)."""
    return Markup(_svg(name))
