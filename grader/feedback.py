"""Feedback pages and formgrader views that never run a student's script.

`nbgrader generate_feedback` and the formgrader's submission view turn a graded notebook
into HTML with nbconvert's HTMLExporter. Out of the box, HTML that the notebook brings
(in its Markdown cells, and in text/html, text/markdown, application/javascript outputs)
goes into the page as it is, so a student's `<script>` or `onerror=` runs in the browser
of whoever opens the page. Configured as in the course's nbgrader_config.py:

    c.HTMLExporter.sanitize_html = True
    c.HTMLExporter.filters = feedback.FILTERS

- nbconvert's own switch (`sanitize_html`) drops application/javascript outputs and
  widget views, and sends text/html and text/markdown outputs (and raw HTML cells)
  through the template filter `clean_html`;
- FILTERS replaces that filter with `clean_html` below (bleach, nbconvert's own sanitiser,
  with an allow-list wide enough for honest notebooks: headings, tables, images, code
  highlighting), and replaces `markdown2html` by one that cleans what it renders. The
  latter matters: nbgrader's `feedback` and `formgrade` templates render Markdown cells
  (and the grader's comments) with `markdown2html` and never call `clean_html`, so
  `sanitize_html` alone leaves a student's Markdown as it is.

What is cleaned: any tag outside TAGS is escaped (it shows as text, `<script>` included:
the reader sees what the student wrote), `<style>` blocks are removed, every attribute
outside ATTRIBUTES (onerror=, onload=, id=, ...) is dropped, links and images keep only
http(s), mailto, relative and `data:image/...` (images only) addresses, style=""
keeps only bleach's harmless CSS properties, and HTML comments go. Stream output, error
tracebacks (ANSI colours), PNG/JPEG outputs and SVG outputs (shown as <img>, where
scripts never run) do not pass through here: nbconvert's template escapes or encodes them.
"""
import re

import bleach
from bleach.css_sanitizer import ALLOWED_CSS_PROPERTIES, CSSSanitizer
from jinja2 import pass_context
from nbconvert.filters import markdown2html as _plain_markdown2html
from traitlets.config import LoggingConfigurable

# What honest Markdown (as nbconvert renders it) and honest HTML outputs (pandas tables,
# IPython.display) use; nothing that runs code, loads a frame or takes input.
TAGS = frozenset({
    "a", "abbr", "acronym", "b", "blockquote", "br", "caption", "cite", "code", "col",
    "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption",
    "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li",
    "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike", "strong", "sub",
    "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul",
    "var",
})
# No id: in the formgrader, a student's element with the id of a grade cell (the page finds
# the score box of test_sigmoid by $("#test_sigmoid")) would stand in for the grader's own.
ATTRIBUTES = {
    "*": {"class", "title", "style", "align", "dir", "lang"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "valign"},
    "th": {"colspan", "rowspan", "valign", "scope"},
    "col": {"span", "width"},
    "colgroup": {"span", "width"},
    "ol": {"start", "type", "reversed"},
    "li": {"value"},
    "details": {"open"},
    "blockquote": {"cite"},
    "q": {"cite"},
}
PROTOCOLS = frozenset({"http", "https", "mailto", "data"})
# data: only for images (an <img> never runs a script, an SVG one included).
IMAGE_DATA = re.compile(r"data:image/(png|jpeg|jpg|gif|webp|svg\+xml)[;,]")
STYLE_BLOCK = re.compile(r"<style\b[^>]*>.*?</style\s*>", flags=re.I | re.S)


def _allowed_attribute(tag, name, value):
    if name not in ATTRIBUTES["*"] and name not in ATTRIBUTES.get(tag, ()):
        return False
    if name in ("href", "src", "cite"):
        address = re.sub(r"[\x00-\x20]+", "", value).lower()
        if address.startswith("data:"):
            return tag == "img" and name == "src" and bool(IMAGE_DATA.match(address))
    return True          # bleach then checks every address against PROTOCOLS


def clean_html(html):
    """html with everything that could run a script removed (see the module's doc)."""
    html = html.decode() if isinstance(html, bytes) else str(html)
    cleaner = bleach.Cleaner(
        tags=TAGS, attributes=_allowed_attribute, protocols=PROTOCOLS, strip=False,
        strip_comments=True,
        css_sanitizer=CSSSanitizer(allowed_css_properties=ALLOWED_CSS_PROPERTIES))
    return cleaner.clean(STYLE_BLOCK.sub("", html))


class SanitizedMarkdown(LoggingConfigurable):
    """The template filter `markdown2html`: the exporter's own rendering of Markdown
    (math, tables, code highlighting, attachments), then clean_html. nbconvert builds it
    with the exporter as parent."""

    jinja_pass_arg = pass_context(lambda: None).jinja_pass_arg   # Jinja passes the context

    def __call__(self, context, source):
        render = getattr(self.parent, "markdown2html", None)
        html = render(context, source) if render else _plain_markdown2html(source)
        return clean_html(html)


# c.HTMLExporter.filters: names the templates use, and what they now are.
FILTERS = {"clean_html": "grader.feedback.clean_html",
           "markdown2html": "grader.feedback.SanitizedMarkdown"}
