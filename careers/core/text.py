"""Text people type, made safe to show: Markdown -> sanitised HTML with one policy, slugs, money.

One policy for every Markdown field (listing descriptions, organisation "about", coder summaries):
- raw HTML is parsed (employers paste descriptions from their applicant systems), and the sanitiser decides
  what survives: a pasted `<script>` or `<iframe>` goes with its content, `onclick` and `style` attributes go,
  a `javascript:` link loses its address;
- images are not rendered (the `![alt](src)` rule is off), so no request leaves for a stranger's server;
- nh3 then keeps a short allow-list of tags, `href`/`title` on links with http, https or mailto only,
  and gives every link rel="nofollow noopener noreferrer".
`sanitise_html` is the nh3 step alone, for HTML rendered earlier that a page marks safe again.
"""

from __future__ import annotations

import re
from decimal import Decimal

import nh3
from markdown_it import MarkdownIt
from slugify import slugify as _slugify

ALLOWED_TAGS = frozenset(
    {"p", "br", "strong", "em", "b", "i", "u", "ul", "ol", "li", "a", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
     "code", "pre", "hr"}
)
ALLOWED_ATTRIBUTES = {"a": frozenset({"href", "title"})}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"
# Dropped with everything inside them if they ever reach the sanitiser (the text of a script is not content).
DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math"}
)

_markdown = MarkdownIt("commonmark", {"html": True, "linkify": False}).disable("image")
_HEADING = re.compile(r"<(/?)h([1-6])>")


def sanitise_html(html: str) -> str:
    """Keep only the allow-listed tags and attributes; every link gets rel="nofollow noopener noreferrer"."""
    return nh3.clean(
        html or "",
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


def render_markdown(source: str | None, *, top_heading: int = 2) -> str:
    """Markdown -> HTML safe to embed in a page; headings above `top_heading` are demoted to it.

    The page's own <h1> (and, for a profile, its <h2> sections) stay the outline; a heading typed
    in the text ranks below them.
    """
    html = sanitise_html(_markdown.render(source or ""))  # after nh3 a heading tag carries no attributes
    return _HEADING.sub(lambda m: f"<{m.group(1)}h{max(int(m.group(2)), top_heading)}>", html).strip()


def slugify(value: str | None, *, max_length: int = 0, fallback: str = "") -> str:
    """Lower-case ASCII words joined by "-" ("Müller Coding Co." -> "muller-coding-co"), or `fallback` if empty."""
    return _slugify(value or "", max_length=max_length) or fallback


def money(amount: Decimal | float | int | None, *, cents: bool | None = None, currency: str = "usd") -> str:
    """An amount as pages show it: "$1,293.50", "$52,000".

    `cents=None` shows cents only when there are any; True always shows them (prices and receipts);
    False never does. A currency other than USD is written as its code: "EUR 12.00". None -> "".
    """
    if amount is None:
        return ""
    value = Decimal(str(amount))
    sign = "-" if value < 0 else ""
    value = abs(value)
    prefix = "$" if currency.lower() == "usd" else currency.upper() + " "
    whole = value == value.to_integral_value()
    if cents is False or (cents is None and whole):
        return f"{sign}{prefix}{value:,.0f}"
    return f"{sign}{prefix}{value:,.2f}"
