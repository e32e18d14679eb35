"""Narrative text: plain text with a small, safe subset of Markdown.

Paragraphs, line breaks, *emphasis*, **strong** and bulleted or numbered lists: nothing else is
interpreted. HTML typed into a narrative is shown as the characters typed (markdown-it with its
`html` option off escapes it), and links, images and headings are not part of the subset, so a
narrative can neither run script nor point a reader anywhere.
"""

from __future__ import annotations

from functools import cache

from markupsafe import Markup


@cache
def _parser():
    from markdown_it import MarkdownIt

    # "zero" enables nothing but paragraphs and text; the rules listed are the whole subset.
    return MarkdownIt("zero", {"html": False, "breaks": True}).enable(["emphasis", "list", "newline"])


def render_narrative(text: str) -> Markup:
    """Narrative text as HTML that is safe to put in a page as it is."""
    return Markup(_parser().render(text))
