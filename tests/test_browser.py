"""The built book as a reader meets it: every page opened in a real browser.

Headless Chromium (Debian's `chromium`, driven by Selenium through Debian's
`chromedriver`) opens every page that the book's sidebar lists and checks that it loads
without a console error, that MathJax typeset every equation on it, that every image in
the text loaded and has alt text, that long printed output scrolls, and that every link
to another page of the book (and the section it points to) exists. It also checks that
the search page finds "forget gate", that each chapter's self-check answers stay hidden
until their button is pressed, and that the chapters carry the repository, issues,
download and launch buttons, and it saves screenshots of the landing page and of a
chapter to _build/screenshots/ for a person to look at.

The book is read from _build/html (`make book` builds it; `make test` builds it first),
or from the folder that the environment variable BOOK_HTML names. A local HTTP server
serves it on a free port of 127.0.0.1; the browser runs with everything that could reach
the network switched off, and nothing is downloaded.
"""
import functools
import html.parser
import os
import re
import shutil
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError as err:
    raise ImportError("tests/test_browser.py needs Selenium: run `make test`, which "
                      "installs the pinned dependencies into .venv/") from err

ROOT = Path(__file__).resolve().parents[1]
BOOK = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html")).resolve()
SCREENSHOTS = BOOK.parent / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
PAGE_LOAD_TIMEOUT_S = 60
# The chapter whose screenshots are saved: equations, figures, code and outputs.
SCREENSHOT_CHAPTER = "chapters/03_lstm_cell.html"


# --------------------------------------------------------------------------------------
# Which pages: the book's sidebar, read from the built landing page.

class _SidebarLinks(html.parser.HTMLParser):
    """The hrefs of the links inside the book's navigation (`nav.bd-docs-nav`)."""

    def __init__(self):
        super().__init__()
        self.depth = 0              # > 0 while inside the sidebar's <nav>
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "nav" and "bd-docs-nav" in (attrs.get("class") or "").split():
            self.depth = 1
        elif tag == "nav" and self.depth:
            self.depth += 1
        elif tag == "a" and self.depth and attrs.get("href"):
            self.hrefs.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "nav" and self.depth:
            self.depth -= 1


def _toc():
    return yaml.safe_load((ROOT / "_toc.yml").read_text())


LANDING = _toc()["root"] + ".html"       # index.html only redirects here


def sidebar_pages():
    """The pages of the built book, as paths relative to its root: the landing page and
    every local page its sidebar links to, in sidebar order. Before the book is built
    this is the landing page alone (and its test fails, saying that the build is
    missing)."""
    pages = [LANDING]
    landing = BOOK / LANDING
    if landing.exists():
        parser = _SidebarLinks()
        parser.feed(landing.read_text(encoding="utf-8"))
        for href in parser.hrefs:
            parts = urllib.parse.urlsplit(href)
            if parts.scheme or parts.netloc or not parts.path.endswith(".html"):
                continue
            page = urllib.parse.unquote(parts.path)
            if page not in pages:
                pages.append(page)
    return pages


def toc_pages():
    """Every page that _toc.yml puts in the book, as the .html path it is built to."""
    toc = _toc()

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                yield entry["file"] + ".html"
            yield from walk(entry.get("sections"))

    pages = [LANDING]
    for part in toc.get("parts", []):
        pages += list(walk(part.get("chapters")))
    pages += list(walk(toc.get("chapters")))
    return pages


# --------------------------------------------------------------------------------------
# Fixtures: the built book, a local server, one browser for the whole module.

def _require_build():
    if not (BOOK / "index.html").exists() or not (BOOK / LANDING).exists():
        pytest.fail(f"the built book is missing: {BOOK / 'index.html'} or "
                    f"{BOOK / LANDING} does not exist. Build it first with `make book` "
                    "(`make test` does), or point the environment variable BOOK_HTML "
                    "at a built _build/html folder.")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):   # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def server():
    """The base URL (with a trailing slash) of the built book, served on 127.0.0.1."""
    _require_build()
    handler = functools.partial(_QuietHandler, directory=str(BOOK))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def _chromium_options(profile):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        # Nothing may reach the network: no QUIC, updates, sync or first-run calls.
        "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-default-apps",
        "--disable-extensions", "--no-default-browser-check",
        "--metrics-recording-only",
        f"--user-data-dir={profile}", "--window-size=1366,900", "--lang=en-GB",
    ]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return options


@pytest.fixture(scope="module")
def browser(server):
    """A headless Chromium, driven by Selenium through Debian's chromedriver. Giving
    Selenium both paths keeps its driver manager (which would download) out of it."""
    for path, package in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")]:
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            pytest.fail(f"{path} is missing: the browser tests need Debian's {package} "
                        "(`make test` installs it when run as root, or names the "
                        "command to run: scripts/system-deps)")
    profile = tempfile.mkdtemp(prefix="book-browser-profile-")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER),
                              options=_chromium_options(profile))
    driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT_S)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


# --------------------------------------------------------------------------------------
# Helpers

def open_page(driver, url):
    """Load `url`, wait until the document and MathJax (where the page loads it) are
    done, and return the severe console messages that loading produced."""
    driver.get_log("browser")                       # drop what earlier pages logged
    driver.get(url)
    WebDriverWait(driver, PAGE_LOAD_TIMEOUT_S).until(
        lambda d: d.execute_script("return document.readyState") == "complete")
    driver.set_script_timeout(PAGE_LOAD_TIMEOUT_S)
    driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const start = Date.now();
        (function wait() {
            const mj = window.MathJax;
            if (mj && mj.startup && mj.startup.promise) {
                mj.startup.promise.then(() => done(true), () => done(false));
            } else if (!document.querySelector('script[src*="mathjax"]')
                       || Date.now() - start > 30000) {
                done(false);
            } else {
                setTimeout(wait, 50);
            }
        })();""")
    return [entry["message"] for entry in driver.get_log("browser")
            if entry["level"] == "SEVERE" and not _is_missing_favicon(entry["message"])]


def _is_missing_favicon(message):
    """The browser asks for /favicon.ico by itself when a page declares no icon; the
    book has none yet, and that request is not the page's doing."""
    return "/favicon.ico " in message and "404" in message


@functools.lru_cache(maxsize=None)
def fetch(url):
    """(HTTP status, body) of a URL on the local server."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, b""


@functools.lru_cache(maxsize=None)
def anchors(url):
    """The ids and names that a local HTML page defines (the targets of #fragments)."""
    status, body = fetch(url)
    text = body.decode("utf-8", errors="replace")
    return set(re.findall(r'\s(?:id|name)="([^"]+)"', text))


MATH_STATE = """
    const article = document.querySelector('article.bd-article') || document.body;
    const math = [...article.querySelectorAll('.math, span.math, div.math')];
    const raw = math.filter(el => !el.querySelector('mjx-container'))
                    .map(el => el.textContent.trim().slice(0, 80));
    // Text outside code that still shows TeX delimiters: math MathJax never saw.
    const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
    const loose = [];
    for (let node; (node = walker.nextNode());) {
        if (node.parentElement.closest('pre, code, mjx-container, script, .math')) {
            continue;
        }
        if (/\\$\\$|\\\\\\(|\\\\\\[/.test(node.textContent)) {
            loose.push(node.textContent.trim().slice(0, 80));
        }
    }
    return {
        equations: math.length,
        typeset: article.querySelectorAll('mjx-container').length,
        raw: raw,
        loose: loose,
        errors: [...article.querySelectorAll('mjx-merror')]
                    .map(e => e.textContent.slice(0, 80)),
    };"""

IMAGES = """
    const article = document.querySelector('article.bd-article') || document.body;
    return [...article.querySelectorAll('img')].map(img => ({
        src: img.getAttribute('src'), alt: (img.getAttribute('alt') || '').trim(),
        loaded: img.complete && img.naturalWidth > 0}));"""

LINKS = "return [...document.querySelectorAll('a[href]')].map(a => a.href);"

# Printed output (print(), a repr) taller than this must scroll: tag its cell
# `output_scroll`, or print less. Figures, tables and code listings are content and are
# shown whole.
LONG_OUTPUT_PX = 640
OUTPUTS = """
    const article = document.querySelector('article.bd-article') || document.body;
    const printed = [...article.querySelectorAll(
        '.cell_output .output.stream, .cell_output .output.text_plain')];
    return {
        cells: article.querySelectorAll('div.cell').length,
        outputs: article.querySelectorAll('div.cell_output').length,
        long: printed.filter(o => {
            const box = o.closest('.cell_output');
            const overflow = getComputedStyle(box).overflowY;
            const scrolls = overflow === 'auto' || overflow === 'scroll';
            return o.getBoundingClientRect().height > arguments[0] && !scrolls;
        }).map(o => o.innerText.split('\\n').length + ' lines: '
                    + o.innerText.slice(0, 60).replace(/\\s+/g, ' ')),
    };"""


def page_problems(driver, base, page):
    """Everything wrong with one page of the book, as a list of sentences."""
    console = open_page(driver, base + page)
    problems = [f"console error: {message}" for message in console]
    if not driver.find_elements(By.CSS_SELECTOR, "article.bd-article h1"):
        problems.append("no <h1> title in the article: the page did not render")

    math = driver.execute_script(MATH_STATE)
    if math["raw"]:
        problems.append(f"MathJax left {len(math['raw'])} of {math['equations']} "
                        f"equations untypeset, e.g. {math['raw'][:3]}")
    problems += [f"TeX outside any equation (not rendered): {text!r}"
                 for text in math["loose"]]
    problems += [f"MathJax error in an equation: {text!r}" for text in math["errors"]]

    outputs = driver.execute_script(OUTPUTS, LONG_OUTPUT_PX)
    if page.startswith("chapters/") and outputs["cells"] and not outputs["outputs"]:
        problems.append(f"{outputs['cells']} code cells and not one output shown: "
                        "was the chapter executed, or are its outputs removed?")
    problems += [f"long printed output that does not scroll (tag the cell "
                 f"`output_scroll`, or print less): {text}" for text in outputs["long"]]

    for img in driver.execute_script(IMAGES):
        if len(img["alt"]) < 5:
            problems.append(f"image without alt text: {img['src']}")
        if not img["loaded"]:
            problems.append(f"image that did not load: {img['src']}")

    for link in sorted(set(driver.execute_script(LINKS))):
        if not link.startswith(base):
            continue                                    # external: not fetched, offline
        target, _, fragment = link.partition("#")
        status, _ = fetch(target)
        if status != 200:
            problems.append(f"broken link: {link[len(base):]} (HTTP {status})")
        elif fragment and target.endswith(".html") and \
                urllib.parse.unquote(fragment) not in anchors(target):
            problems.append(f"link to a missing section: {link[len(base):]}")
    return problems


# --------------------------------------------------------------------------------------
# Tests

def test_sidebar_lists_every_page_of_the_toc_and_each_resolves(server):
    pages = sidebar_pages()
    missing = [p for p in toc_pages() if p not in pages]
    assert not missing, f"pages of _toc.yml that the sidebar does not link: {missing}"
    broken = {page: status for page in pages
              if (status := fetch(server + page)[0]) != 200}
    assert not broken, f"sidebar links that do not load (page: HTTP status): {broken}"


@pytest.mark.parametrize("page", sidebar_pages())
def test_page_renders_without_errors(browser, server, page):
    problems = page_problems(browser, server, page)
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)


def test_the_site_root_leads_to_the_landing_page(browser, server):
    open_page(browser, server)
    WebDriverWait(browser, 30).until(lambda d: d.current_url.endswith("/" + LANDING))
    assert "LSTMs from first principles" in browser.title


def test_math_is_typeset_offline_on_the_landing_page(browser, server):
    """The landing page has display and inline math: MathJax, served from the book
    itself (_ext/offline_mathjax.py), must have turned all of it into mjx-container."""
    open_page(browser, server + LANDING)
    math = browser.execute_script(MATH_STATE)
    assert math["equations"] >= 2 and math["typeset"] >= math["equations"], math
    src = browser.execute_script(
        "return [...document.scripts].map(s => s.src).filter(s => /mathjax/i.test(s));")
    assert src and all(s.startswith(server) for s in src), (
        f"MathJax must load from the book itself, not a CDN: {src}")


def test_search_finds_the_forget_gate(browser, server):
    open_page(browser, server + "search.html?q=forget+gate")
    try:                                 # Sphinx's search says "Search finished, ..."
        WebDriverWait(browser, 60).until(lambda d: any(
            "finished" in p.text
            for p in d.find_elements(By.CSS_SELECTOR, "p.search-summary")))
    except TimeoutException:
        pytest.fail("the search page did not finish searching within 60 s "
                    "(is searchindex.js there, and does search.html load it?)")
    results = browser.find_elements(By.CSS_SELECTOR, "#search-results ul.search li a")
    assert results, "searching the book for 'forget gate' found nothing"
    titles = [a.text for a in results]
    assert any("LSTM" in t for t in titles), (
        f"no LSTM chapter among the results: {titles}")


def test_the_screenshot_chapter_is_in_the_book():
    assert SCREENSHOT_CHAPTER in toc_pages(), (
        f"{SCREENSHOT_CHAPTER} is no longer in _toc.yml: point SCREENSHOT_CHAPTER at a "
        "chapter with equations and figures")


def test_chapters_have_source_download_and_launch_buttons(browser, server):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]["url"].rstrip("/")
    launch = config.get("launch_buttons", {})
    open_page(browser, server + SCREENSHOT_CHAPTER)
    hrefs = browser.execute_script(
        "return [...document.querySelectorAll('.article-header-buttons a')]"
        ".map(a => a.href);")
    stem = SCREENSHOT_CHAPTER.removesuffix(".html")
    wanted = {
        "repository": repo,
        "issues": f"{repo}/issues",
        "download .ipynb": f"{server}_sources/{stem}.ipynb",
        "download .md": f"{server}_sources/{stem}.md",
    }
    if launch.get("binderhub_url"):
        wanted["Binder"] = launch["binderhub_url"].rstrip("/") + "/v2/gh/"
    if launch.get("colab_url"):
        wanted["Colab"] = launch["colab_url"].rstrip("/") + "/github/"
    if launch.get("jupyterhub_url"):
        wanted["JupyterHub"] = (launch["jupyterhub_url"].rstrip("/")
                                + "/hub/user-redirect/")
    missing = [name for name, prefix in wanted.items()
               if not any(h.startswith(prefix) for h in hrefs)]
    assert not missing, (
        f"buttons missing from {SCREENSHOT_CHAPTER}: {missing}; links: {hrefs}")
    for name in ("download .ipynb", "download .md"):
        assert fetch(wanted[name])[0] == 200, f"the {name} button's file is not served"


def chapter_pages():
    return [p for p in toc_pages() if re.fullmatch(r"chapters/\d\d_\w+\.html", p)]


@pytest.mark.parametrize("page", chapter_pages())
def test_self_check_answers_are_hidden_until_asked(browser, server, page):
    """Each chapter's "Check your understanding": every answer is hidden when the page
    opens, its button shows it, and the answers of the other questions stay hidden."""
    open_page(browser, server + page)
    answers = browser.find_elements(By.CSS_SELECTOR, ".solution.dropdown")
    assert len(answers) >= 3, f"{page}: {len(answers)} self-check answers, want 3 or more"
    bodies = [a.find_element(By.CSS_SELECTOR, "section") for a in answers]
    shown = [k for k, body in enumerate(bodies) if body.is_displayed()]
    assert not shown, f"{page}: answers {shown} are visible before the reader asks"
    for k, answer in enumerate(answers):
        button = answer.find_element(By.CSS_SELECTOR, "button.toggle-button")
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
        button.click()
        WebDriverWait(browser, 5).until(lambda d: bodies[k].is_displayed(),
                                        f"{page}: answer {k} did not open when asked")
        assert bodies[k].text.strip(), f"{page}: answer {k} is empty"
        others = [j for j in range(k + 1, len(bodies)) if bodies[j].is_displayed()]
        assert not others, f"{page}: opening answer {k} also showed {others}"


@pytest.mark.parametrize("page", [p for p in toc_pages()
                                  if p.startswith(("chapters/", "exercises/"))])
def test_colab_opens_a_notebook_that_exists(server, page):
    """Colab opens only .ipynb files, from the repository: every chapter's and exercise's
    Colab button must name one, at a path that exists in the repository."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    colab = config["launch_buttons"]["colab_url"].rstrip("/")
    body = fetch(server + page)[1].decode("utf-8", errors="replace")
    links = set(re.findall(r'href="(' + re.escape(colab) + r'/github/[^"]+)"', body))
    assert len(links) == 1, f"{page}: want one Colab link, found {sorted(links)}"
    path = links.pop().split("/blob/", 1)[1].split("/", 1)[1]     # after the branch
    assert path.endswith(".ipynb"), f"{page}: Colab cannot open {path}"
    assert (ROOT / path).is_file(), f"{page}: the Colab link names {path}, which is missing"


def test_save_screenshots_for_review(browser, server):
    """Screenshots for a person to look at (they are not compared with anything): the
    landing page, a chapter's top, and the chapter's first figure with its equations."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shots = {}
    open_page(browser, server + LANDING)
    shots["landing.png"] = browser.get_screenshot_as_png()
    open_page(browser, server + SCREENSHOT_CHAPTER)
    shots["chapter.png"] = browser.get_screenshot_as_png()
    figure = browser.find_elements(By.CSS_SELECTOR,
                                   "article.bd-article .cell_output img")
    assert figure, f"{SCREENSHOT_CHAPTER} shows no figure"
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", figure[0])
    shots["chapter_figure.png"] = browser.get_screenshot_as_png()
    browser.set_window_size(420, 900)       # a phone: the sidebar must fold away
    try:
        open_page(browser, server + SCREENSHOT_CHAPTER)
        shots["chapter_phone.png"] = browser.get_screenshot_as_png()
    finally:
        browser.set_window_size(1366, 900)
    for name, png in shots.items():
        assert png.startswith(b"\x89PNG") and len(png) > 10_000, f"{name} looks empty"
        (SCREENSHOTS / name).write_bytes(png)
