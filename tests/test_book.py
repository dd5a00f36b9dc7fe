"""The built book: every page in the table of contents exists, every chapter executed
without error from its current source, every number the prose pastes was glued by an
executed cell, and every figure has alt text.

These tests read _build/, so they run after `make book` (which `make test` does first).
"""
import json
import re
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml
from jupyter_cache import get_cache

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "_build" / ".jupyter_cache"
GLUE_REF = re.compile(r"\{glue(?::(?:text|md|any|figure|math))?\}`([^`:]+)")


def toc_files():
    """Every page of _toc.yml, in order: the root, each part's chapters and their sections
    (the exercises are sections of the students' page)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                yield entry["file"]
            yield from walk(entry.get("sections"))

    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += list(walk(part.get("chapters")))
    return files


def source(name):
    matches = [p for p in (ROOT / f"{name}.md", ROOT / f"{name}.ipynb") if p.exists()]
    assert matches, f"{name} is listed in _toc.yml but neither {name}.md nor {name}.ipynb exists"
    return matches[0]


def notebooks():
    """Pages of the toc that the build executes: notebooks (MyST markdown with a jupytext
    header, or .ipynb) other than the exercises, which the book shows unexecuted and
    tests/test_exercises.py runs."""
    return [name for name in toc_files() if not name.startswith("exercises/")
            and (source(name).suffix == ".ipynb" or "jupytext:" in source(name).read_text()[:300])]


def test_exercises_are_shown_without_solutions():
    shown = [n for n in toc_files() if n.startswith("exercises/")]
    assert sorted(n.split("/")[1] for n in shown) == sorted(
        p.name for p in (ROOT / "solutions").iterdir() if p.is_dir()), "one page per exercise"
    for name in shown:
        text = source(name).read_text()
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, name
        assert "raise NotImplementedError()" in text, name


def executed(name):
    """The executed notebook of a chapter, as the build's jupyter-cache holds it for the
    chapter's current code (its cells hashed), or a failure if the cache has none.

    Not _build/jupyter_execute/: myst-nb 1.4 writes the unexecuted notebook there when it
    takes the outputs from the cache (a rebuild after a change to the table of contents)."""
    if not CACHE.exists():
        pytest.fail(f"{CACHE.relative_to(ROOT)} is missing: build the book first (`make book`)")
    cache = get_cache(str(CACHE))
    try:
        record = cache.match_cache_notebook(jupytext.read(source(name)))
    except KeyError:
        pytest.fail(f"{name}: the build has no executed notebook for its current code: rebuild the "
                    f"book (`make book`)")
    return json.loads(nbformat.writes(cache.get_cache_bundle(record.pk).nb))


@pytest.mark.parametrize("name", toc_files())
def test_every_toc_entry_exists(name):
    source(name)


def test_every_chapter_is_in_the_book_in_order():
    names = toc_files()
    assert len(notebooks()) >= 5
    assert names.index("chapters/01_sequences") < names.index("chapters/05_variants")
    chapters = sorted(f"chapters/{p.stem}" for p in (ROOT / "chapters").glob("[0-9][0-9]_*.md"))
    appendices = sorted(f"chapters/{p.stem}" for p in (ROOT / "chapters").glob("appendix_*.md"))
    # the numbered chapters in order, then every appendix after them
    assert [n for n in names if n.startswith("chapters/")] == chapters + appendices


@pytest.mark.parametrize("name", notebooks())
def test_chapter_executed_from_current_source_without_error(name):
    nb = executed(name)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    src = [c.source for c in jupytext.read(source(name)).cells if c.cell_type == "code"]
    assert [c["source"] if isinstance(c["source"], str) else "".join(c["source"]) for c in code] == src, (
        f"the executed {name} is older than its source: rebuild the book")
    for k, cell in enumerate(code):
        assert cell.get("execution_count") is not None, f"{name}: code cell {k} was not executed"
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", (
                f"{name}: code cell {k} raised {out.get('ename')}: {out.get('evalue')}")
            if out["output_type"] == "stream" and out.get("name") == "stderr":
                text = "".join(out["text"]) if isinstance(out["text"], list) else out["text"]
                assert "Warning" not in text, f"{name}: code cell {k} printed a warning:\n{text[:500]}"


def test_glue_ref_reads_the_key_of_every_glue_role():
    text = ("{glue}`a` {glue:text}`b:.2f` {glue:md}`c` {glue:any}`d` {glue:figure}`e` "
            "{glue:math}`f` {math}`g`")
    assert GLUE_REF.findall(text) == list("abcdef")


@pytest.mark.parametrize("name", notebooks())
def test_every_pasted_number_was_glued_by_the_chapter(name):
    text = source(name).read_text()
    wanted = set(GLUE_REF.findall(text))
    # glue() displays its value with the key in the output's metadata: read the keys from
    # the executed notebook of the current code, as the other checks do.
    glued = {out["metadata"]["scrapbook"]["name"] for cell in executed(name)["cells"]
             for out in cell.get("outputs", []) if "scrapbook" in out.get("metadata", {})}
    assert wanted <= glued, f"{name}: pasted but never glued: {sorted(wanted - glued)}"


@pytest.mark.parametrize("name", notebooks())
def test_every_figure_has_alt_text(name):
    for k, cell in enumerate(executed(name)["cells"]):
        if cell["cell_type"] != "code":
            continue
        if any("image/png" in out.get("data", {}) or "image/svg+xml" in out.get("data", {})
               for out in cell.get("outputs", [])):
            alt = cell.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt", "")
            assert len(alt) >= 20, f"{name}: the figure of cell {k} has no (or too short) alt text"


def numbered_chapters():
    return [n for n in toc_files() if re.fullmatch(r"chapters/\d\d_\w+", n)]


SELF_CHECK = re.compile(r"^## Check your understanding\n(.*?)"
                        r"(?=^#{1,2} |^```\{admonition\} Practise|\Z)", re.M | re.S)
QUESTION = re.compile(r"^```\{exercise\}[^\n]*\n:label: (check-[\w-]+)\n", re.M)
ANSWER = re.compile(r"^```\{solution\} (check-[\w-]+)\n:class: dropdown\n", re.M)


@pytest.mark.parametrize("name", numbered_chapters())
def test_every_chapter_ends_with_a_check_of_understanding(name):
    """3 to 6 questions right after the Summary, each with its answer in a dropdown (hidden
    until the reader opens it; tests/test_browser.py checks that in the browser), and a
    link to the chapter's graded exercise after them."""
    text = source(name).read_text()
    section = SELF_CHECK.search(text)
    assert section, f"{name}: no '## Check your understanding' section (chapters/STYLE.md)"
    previous = re.findall(r"^## (.+)$", text[:section.start()], re.M)
    last = previous[-1] if previous else None
    assert last and re.fullmatch(r"Summary|What to remember|What this \w+ measured", last), (
        f"{name}: the check of understanding follows the Summary (or 'What this chapter "
        f"measured'), not {last!r}")
    questions = QUESTION.findall(section.group(1))
    answers = ANSWER.findall(section.group(1))
    assert 3 <= len(questions) <= 6, f"{name}: {len(questions)} questions, want 3 to 6"
    assert answers == questions, (
        f"{name}: every question needs one answer, in order, with `:class: dropdown`: "
        f"questions {questions}, answers {answers}")
    assert "{doc}`Exercise" in text[section.end():] or "exercises/" in text[section.end():], (
        f"{name}: no link to a graded exercise after the check of understanding")
