"""A saved web page of a press release, turned into Markdown by trafilatura, a maintained
extraction library: the page's main text (headings, lists, paragraphs; no menus, footers or
cookie banners) and its title, url, description and publication date.

Used by `herald release` and `herald draft` on the officer's machine only: trafilatura and
lxml are CLI dependencies, never in the Lambda layer, and are imported here, when a page is
read, not before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from herald.problems import InputError, Problem

# Where a page states its publication date for machines, most specific first.
_DATE_XPATHS = (
    '//meta[@property="article:published_time"]/@content',
    '//meta[@name="article:published_time"]/@content',
    '//meta[@itemprop="datePublished"]/@content',
    '//meta[@name="dcterms.date"]/@content',
    '//meta[@name="DC.date"]/@content',
    '//meta[@name="date"]/@content',
    "//article//time/@datetime",
    "//main//time/@datetime",
    "//time/@datetime",
)


@dataclass(frozen=True)
class Page:
    """What a saved page holds: its main text as Markdown, and the fields of its head."""

    markdown: str
    title: str
    url: str
    date: str | None  # ISO 8601 as the page's markup gives it, or None
    description: str


def extract(data: bytes, file: str) -> Page:
    """The press release in a saved web page; InputError when it has no main text."""
    try:
        import trafilatura
    except ImportError:  # pragma: no cover - a CLI install always has it
        message = "reading a saved web page needs trafilatura: pip install trafilatura"
        raise InputError([Problem(file, 1, message)]) from None
    import lxml.html

    try:
        tree = lxml.html.fromstring(data)
    except (ValueError, lxml.etree.ParserError) as error:
        raise InputError([Problem(file, 1, f"cannot read this web page: {error}")]) from None
    markdown = trafilatura.extract(
        tree,
        output_format="markdown",
        include_formatting=True,
        include_links=False,
        include_images=False,
        include_comments=False,
        include_tables=False,
    )
    if not markdown or not markdown.strip():
        message = "no press release found in this web page: is it the saved article page?"
        raise InputError([Problem(file, 1, message)])
    meta = trafilatura.extract_metadata(tree)
    title = (meta.title or "") if meta is not None else ""
    url = (meta.url or "") if meta is not None else ""
    description = (meta.description or "") if meta is not None else ""
    return Page(markdown, title.strip(), url.strip(), _published(tree), description.strip())


def _published(tree: Any) -> str | None:
    """The publication date the page's markup states (the date part of an ISO time).

    Read from the markup, not guessed from the text: a page's visible `07/12/2026` is read
    as a UK reader writes it by herald.release, which a general date guesser would not do.
    """
    for xpath in _DATE_XPATHS:
        for value in tree.xpath(xpath):
            text = str(value).strip()
            if len(text) >= 10 and text[4] == "-" and text[7] == "-" and text[:4].isdigit():
                return text[:10]
    return None
