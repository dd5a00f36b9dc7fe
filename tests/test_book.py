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
EXECUTED = ROOT / "_build" / "jupyter_execute"
CACHE = ROOT / "_build" / ".jupyter_cache"
GLUE_REF = re.compile(r"\{glue(?::(?:text|md|any|figure|math))?\}`([^`:]+)")


def toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [entry["file"] for entry in part["chapters"]]
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
    for name in (n for n in toc_files() if n.startswith("exercises/")):
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


def test_part_one_is_in_the_book():
    names = toc_files()
    assert len(notebooks()) >= 5
    assert names.index("chapters/01_sequences") < names.index("chapters/05_variants")


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


@pytest.mark.parametrize("name", notebooks())
def test_every_pasted_number_was_glued_by_the_chapter(name):
    text = source(name).read_text()
    wanted = set(GLUE_REF.findall(text))
    executed(name)
    store = EXECUTED / f"{name}.glue.json"      # myst-nb writes the glued values here
    glued = set(json.loads(store.read_text())) if store.exists() else set()
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
