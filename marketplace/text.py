"""Text helpers: Markdown rendered then sanitised, slugs, tags, money input."""

from __future__ import annotations

import re
import unicodedata

import nh3
from markdown_it import MarkdownIt

# Raw HTML in the source is not rendered at all; nh3 then removes whatever could still run
# (event handlers, javascript: links, unknown tags), whatever markdown-it produced.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")
ALLOWED_TAGS = {
    "p", "br", "strong", "em", "ul", "ol", "li", "a", "blockquote", "code", "pre",
    "h3", "h4", "h5", "h6", "hr",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


def render_markdown(source: str) -> str:
    html = _markdown.render(source or "")
    # Headings are demoted: a description sits under the page's own h1/h2.
    html = re.sub(r"<(/?)h[12]>", r"<\1h3>", html)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener ugc",
    )


def fold(text: str) -> str:
    """Lower-case without accents: "Crème Brûlée" -> "creme brulee"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def slugify(text: str, max_length: int = 60) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")
    return slug[:max_length].strip("-")


def words(text: str) -> list[str]:
    """The search words of a text: folded, split on anything that is not a letter or digit.

    The same function cuts the indexed documents and the queries on both databases, so
    SQLite's FTS5 and PostgreSQL's tsvector see exactly the same tokens.
    """
    return re.findall(r"[^\W_]+", fold(text))


def plain_text(raw: str | None) -> str:
    """Text as a person typed it, without any HTML (tags, and script or style contents, are
    dropped), so what is stored and what the API returns never carries markup; pages
    escape it again when they show it."""
    import html

    import nh3

    cleaned = nh3.clean(raw or "", tags=set())
    return html.unescape(cleaned).replace("\r\n", "\n").strip()
