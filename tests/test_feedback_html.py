"""Feedback pages never run a student's script, and still show what an honest one shows
(grader/feedback.py, plugged into nbgrader_config.py).

A course folder with exercise 02 receives four submissions: the honest one, the hostile
case `injects_script` (a <script> and an onerror= in a Markdown cell of its own, an HTML
output with an onerror= and a JavaScript output), `nan_answer` (a failing test, for its
traceback) and `shows_work` (the solution with a Markdown table, a plot and an HTML
table of the student's). Plain `nbgrader autograde` and `nbgrader generate_feedback`
with the course's nbgrader_config.py (sandbox on) grade them; the view of a submission
that the formgrader serves is made the way its server extension makes it. Headless
Chromium (as tests/test_browser.py drives it, with every host name unresolvable, so
nothing is fetched) opens each page and checks that no script of the student's ran:
document.title unchanged, the window.pwned marker that each of the student's scripts
sets undefined, no element with an on...= attribute, no <script> but the template's.
Without a course, the cleaner itself (grader.feedback.clean_html) meets the usual ways to
run a script from HTML, and leaves honest HTML as it was.
"""
import html.parser
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

from grader.feedback import clean_html
from hostile import cases
from submissions import course_env
from test_browser import CHROMEDRIVER, CHROMIUM, _chromium_options

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
A, NOTEBOOK = cases.ASSIGNMENT, cases.NOTEBOOK
INJECTS = next(c for c in cases.CASES if c.name == "injects_script")
FAILS = next(c for c in cases.CASES if c.name == "nan_answer")

SHOWN_MARKDOWN = ("## My results\n\n| gate | role |\n|:-----|-----:|\n| forget | keeps $c_{t-1}$ |\n"
                  "| input | writes $g$ |\n\nWhen $x < -709$, `np.exp(-x)` overflows: "
                  "$$\\begin{aligned} a &= 1 \\\\ b &= 2 \\end{aligned}$$\n")
SHOWN_CODE = ("import matplotlib.pyplot as plt\nfrom IPython.display import HTML, display\n"
              "plt.figure(figsize=(2, 2))\nplt.plot([0, 1, 2], [0, 1, 4])\nplt.show()\n"
              "display(HTML('<table class=\"mine\"><thead><tr><th>step</th></tr></thead>"
              "<tbody><tr><td style=\"text-align: right\">20</td></tr></tbody></table>'))\n")
SHOWS_WORK = cases.Case(
    "shows_work", "the solution, with a Markdown table and math, a plot and an HTML table",
    cases.TOTAL, "My results",
    lambda m: cases.one(cases.with_markdown(cases.after(m.solved(), "imports", SHOWN_CODE),
                                            "imports", SHOWN_MARKDOWN)))
STUDENTS = [cases.HONEST, INJECTS, FAILS, SHOWS_WORK]
FULL = f"lstm_cell (Score: {cases.TOTAL} / {cases.TOTAL})"

# A feedback page's own scripts (nbgrader's template): MathJax and its configuration. A
# formgrader view's own scripts and event handlers are those of the view of the released
# notebook (views/release.html), which has no content of a student's.
FEEDBACK_SCRIPT = re.compile(r"mathjax|MathJax\.Hub\.Config", flags=re.I)

# The formgrader's view of a submission: the exporter its server extension builds
# (FormgradeExtension.init_tornado_settings) from the configuration it loads in the course
# folder, and the resources its SubmissionHandler passes.
FORMGRADER = """
import sys
from nbconvert.exporters import HTMLExporter
from nbgrader.server_extensions.formgrader.formgrader import FormgradeExtension
app = FormgradeExtension()
app.initialize([])
exporter = HTMLExporter(config=app.config)
resources = dict(assignment_id=%(a)r, notebook_id=%(nb)r, submission_id="x", index=0, total=1,
                 base_url="", student=sys.argv[1], last_name=None, first_name=None,
                 notebook_path="autograded")
page, _ = exporter.from_filename(sys.argv[2], resources=resources)
open(sys.argv[3], "w").write(page)
"""


def run(args, cwd):
    out = subprocess.run([str(a) for a in args], cwd=cwd, env=course_env(), capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    return out


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course folder, graded and with its feedback, and the formgrader's pages in views/."""
    path = tmp_path_factory.mktemp("feedback-course")
    (path / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text())
    shutil.copytree(ROOT / "solutions" / A, path / "solutions" / A)
    run([BIN / "nbgrader", "generate_assignment", A], path)
    materials = cases.Materials(path / "exercises" / A / NOTEBOOK, path / "solutions" / A / NOTEBOOK, path)
    for case in STUDENTS:
        cases.write(case, materials, path / "submitted" / case.name / A)
    run([BIN / "nbgrader", "autograde", A], path)
    run([BIN / "nbgrader", "generate_feedback", A], path)
    (path / "views").mkdir()
    for name, notebook in [*((c.name, path / "autograded" / c.name / A / NOTEBOOK) for c in STUDENTS),
                           ("release", path / "exercises" / A / NOTEBOOK)]:
        run([sys.executable, "-c", FORMGRADER % {"a": A, "nb": NOTEBOOK[:-6]}, name, notebook,
             path / "views" / f"{name}.html"], path)
    return path


def feedback_page(course, student):
    return course / "feedback" / student / A / NOTEBOOK.replace(".ipynb", ".html")


@pytest.fixture(scope="module")
def browser():
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).is_file():
            pytest.fail(f"{path} is missing: `apt-get install -y chromium chromium-driver`")
    profile = tempfile.mkdtemp(prefix="feedback-browser-profile-")
    options = _chromium_options(profile)
    options.add_argument("--host-resolver-rules=MAP * ~NOTFOUND")   # MathJax's CDN: not fetched
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


OPENED = """
    const onAttributes = [...document.querySelectorAll('*')]
        .flatMap(e => [...e.attributes].map(a => a.name + '=' + a.value))
        .filter(n => n.toLowerCase().startsWith('on'));
    return {
        title: document.title,
        pwned: typeof window.pwned === 'undefined' ? null : String(window.pwned),
        onAttributes: onAttributes,
        scripts: [...document.scripts].map(s => s.src || s.textContent.trim().slice(0, 80)),
        text: document.body.innerText,
        images: [...document.querySelectorAll('.output_png img, .rendered_html img')].map(
            i => ({src: i.getAttribute('src').slice(0, 30), loaded: i.complete && i.naturalWidth > 0})),
        tables: [...document.querySelectorAll('.rendered_html table')].map(t => t.innerText),
        highlighted: document.querySelectorAll('.input_area .highlight span').length,
        ansi: document.querySelectorAll('.output_error [class^="ansi-"]').length,
    };"""


def open_page(driver, page):
    driver.get(page.as_uri())
    WebDriverWait(driver, 60).until(lambda d: d.execute_script("return document.readyState") == "complete")
    # An <img onerror=...> fires when its image fails, before the load event; a moment
    # more for anything asynchronous.
    driver.execute_async_script("setTimeout(arguments[arguments.length - 1], 300);")
    return driver.execute_script(OPENED)


class Markup(html.parser.HTMLParser):
    """What, in a page's HTML text, could run a script: its scripts (their src, or the start
    of their text), event handlers (on...= attributes), javascript: addresses, and, found
    without a parser, tags with an on...= attribute."""

    def __init__(self, page):
        super().__init__()
        self.scripts, self.handlers, self.javascript, self._in_script = [], [], [], False
        self.feed(page)
        self.tags_with_handlers = re.findall(r"<[a-z][^<>]*\son\w+\s*=[^<>]*>", page, flags=re.I)

    def handle_starttag(self, tag, attrs):
        self._in_script = tag == "script"
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.handlers.append(f"<{tag} {name}={value!r}>")
            if value and re.sub(r"[\x00-\x20]", "", value).lower().startswith("javascript:"):
                self.javascript.append(f"<{tag} {name}={value!r}>")
        if tag == "script":
            self.scripts.append(dict(attrs).get("src") or "")

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data.strip()[:80]

    def handle_endtag(self, tag):
        self._in_script = False


@pytest.mark.parametrize("student", [c.name for c in STUDENTS])
def test_feedback_runs_no_script_of_the_students(course, browser, student):
    page = feedback_page(course, student)
    text = page.read_text()
    markup = Markup(text)
    assert len(markup.scripts) == 2, markup.scripts
    assert all(FEEDBACK_SCRIPT.search(s) for s in markup.scripts), markup.scripts
    assert markup.handlers == markup.javascript == markup.tags_with_handlers == []
    # The student's code shows as text (escaped by the highlighter), never as markup.
    assert "<script>document.title" not in text and not re.search(r"<img[^<>]*onerror", text)
    seen = open_page(browser, page)
    assert seen["title"] == NOTEBOOK[:-6], seen["title"]
    assert seen["pwned"] is None, f"the student's script ran: window.pwned = {seen['pwned']!r}"
    assert seen["onAttributes"] == [] and all(FEEDBACK_SCRIPT.search(s) for s in seen["scripts"]), seen


def test_the_scripts_show_as_text(course, browser):
    """The reader of injects_script's feedback sees what the student wrote, as text."""
    seen = open_page(browser, feedback_page(course, "injects_script"))
    assert "<script>document.title='PWNED'; window.pwned = 'markdown script'</script>" in seen["text"]
    assert "display(Javascript(" in seen["text"]             # the student's code cell, highlighted
    assert FULL in seen["text"]


def test_honest_content_still_shows(course, browser):
    seen = open_page(browser, feedback_page(course, "honest"))
    assert FULL in seen["text"]
    assert "check_lstm_step_forward" in seen["text"] and seen["highlighted"] > 50
    # Math reaches MathJax as TeX, escaped once: "<" and "&" as they were written.
    assert "$x < -709$" in seen["text"] and "a &= x W_x + h_{t-1} W_h + b" in seen["text"]

    seen = open_page(browser, feedback_page(course, "shows_work"))
    assert FULL in seen["text"] and "My results" in seen["text"]
    assert [i["loaded"] for i in seen["images"]] == [True], seen["images"]      # the plot
    assert seen["images"][0]["src"].startswith("data:image/png;base64,")
    assert seen["tables"] == ["gate\trole\nforget\tkeeps $c_{t-1}$\ninput\twrites $g$", "step\n20"]
    assert "$$\\begin{aligned} a &= 1 \\\\ b &= 2 \\end{aligned}$$" in seen["text"]
    assert "np.exp(-x)" in seen["text"]


def test_a_failing_test_shows_its_traceback(course, browser):
    seen = open_page(browser, feedback_page(course, "nan_answer"))
    score = re.search(r"lstm_cell \(Score: (\d+\.\d+) / (\d+\.\d+)\)", seen["text"])
    assert score and float(score[1]) < float(score[2]) == cases.TOTAL, seen["text"][:200]
    assert "NaN or inf" in seen["text"] and "GradingError" in seen["text"]
    assert seen["ansi"] > 0, "the traceback lost its colours"


@pytest.mark.parametrize("student", ["injects_script", "honest"])
def test_the_formgrader_view_runs_no_script_of_the_students(course, browser, student):
    page, release = course / "views" / f"{student}.html", course / "views" / "release.html"
    text = page.read_text()
    assert "formgrade.js" in text                # the formgrader's own page, not the feedback
    markup, template = Markup(text), Markup(release.read_text())
    assert markup.scripts == template.scripts and markup.handlers == template.handlers
    assert markup.tags_with_handlers == template.tags_with_handlers and markup.javascript == []
    seen = open_page(browser, page)
    assert seen["title"] == NOTEBOOK[:-6] and seen["pwned"] is None, seen
    assert seen["onAttributes"] == open_page(browser, release)["onAttributes"]
    assert "check_lstm_step_forward" in seen["text"]
    if student == "injects_script":
        assert "<script>document.title='PWNED'; window.pwned = 'markdown script'</script>" in seen["text"]


# ---------------------------------------------------------------- the cleaner, without a course

@pytest.mark.parametrize("dirty", [
    "<script>window.pwned = 1</script>", "<img src=x onerror=\"window.pwned = 1\">",
    "<a href=\"javascript:window.pwned = 1\">x</a>", "<a href=\"jav&#x09;ascript:window.pwned=1\">x</a>",
    "<a href=\"data:text/html,<script>window.pwned=1</script>\">x</a>",
    "<img src=\"data:text/html;base64,PHNjcmlwdD4=\">", "<svg><script>window.pwned = 1</script></svg>",
    "<svg onload=\"window.pwned = 1\"></svg>", "<math><mi xlink:href=\"javascript:1\">x</mi></math>",
    "<iframe src=\"javascript:window.top.pwned = 1\"></iframe>", "<iframe srcdoc=\"<script>1</script>\">",
    "<object data=\"x.swf\"></object>", "<embed src=\"x\">",
    "<form action=\"http://x\"><input name=a></form>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:1\">", "<base href=\"http://x/\">",
    "<style>body { display: none }</style>", "<link rel=stylesheet href=\"http://x/a.css\">",
    "<div style=\"background: url(javascript:1); position: fixed\">x</div>",
    "<details open ontoggle=\"window.pwned = 1\">x</details>", "<!-- <script>1</script> -->",
    "<span id=\"test_sigmoid\">a fake score box</span>",
])
def test_the_cleaner_leaves_nothing_that_runs(dirty):
    markup = Markup(f"<div>{clean_html(dirty)}</div>")
    assert markup.scripts == markup.handlers == markup.javascript == markup.tags_with_handlers == []
    clean = clean_html(dirty)
    for tag in ("<script", "<svg", "<math", "<iframe", "<object", "<embed", "<form", "<input", "<meta",
                "<base", "<style", "<link", "<!--", "data:text/html", "position", " id="):
        assert tag not in clean, clean


def test_the_cleaner_keeps_honest_html():
    png = "data:image/png;base64,iVBORw0KGgo="
    honest = (f'<h2>Results</h2><p>Some <b>bold</b>, <code>a &lt; b</code> and $x &lt; 0$.</p>'
              f'<table class="dataframe"><thead><tr style="text-align: right;"><th>a</th></tr></thead>'
              f'<tbody><tr><td>1</td></tr></tbody></table><img alt="a plot" src="{png}">'
              f'<a href="https://example.org/docs">docs</a><div class="highlight"><pre><span class="k">if'
              f'</span></pre></div><details><summary>more</summary>hidden</details>')
    assert clean_html(honest) == honest
