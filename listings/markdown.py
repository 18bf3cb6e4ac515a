"""Listing descriptions: Markdown rendered with markdown-it-py, then sanitised with nh3.

Employers often paste HTML from their own applicant systems, so raw HTML is
allowed into the renderer and the sanitiser decides what survives: a short
allow-list of formatting tags, `href`/`title` on links (http, https, mailto
only), every link `rel="nofollow noopener"`. Scripts, styles, iframes, event
attributes and `javascript:` URLs never survive.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {"p", "br", "strong", "em", "b", "i", "u", "ul", "ol", "li", "a", "h1", "h2", "h3", "h4", "h5", "h6",
     "blockquote", "code", "pre", "hr"}
)
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Dropped with everything inside them (the text of a script is not description).
DROPPED_WITH_CONTENT = frozenset({"script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math"})

_md = MarkdownIt("commonmark", {"html": True})


def sanitise_html(html: str) -> str:
    """Keep only the allow-listed tags and attributes; links get rel="nofollow noopener"."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="nofollow noopener",
        strip_comments=True,
    )


def render_markdown(source: str) -> str:
    """Markdown source -> sanitised HTML, safe to embed in a page and in JSON-LD."""
    html = sanitise_html(_md.render(source or "")).strip()
    # The job title is the page's only <h1>; a heading in the description ranks below it.
    return html.replace("<h1>", "<h2>").replace("</h1>", "</h2>")
