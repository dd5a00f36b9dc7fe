"""The instructor guide is executable: every shell command in it runs, in order, in a
fresh course directory, and the grades it produces are the right ones.

Between the commands, this test plays the students: it puts their files where a real
course would receive them (a zip archive from a learning-management system, a notebook
completed in a student's home folder on a JupyterHub, all as the one OS user running
the test, since nbgrader's exchange names students by their login).
"""
import csv
import os
import pwd
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
from submissions import answered, course_env, solution_answers

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "instructors" / "guide.md"
BIN = Path(sys.executable).parent
STUDENT_MARK = "# In the student's home folder:"


def guide_commands():
    """(in_student_folder, command) for every line of every ```sh block, in order."""
    blocks = re.findall(r"```sh\n(.*?)```", GUIDE.read_text(), flags=re.S)
    commands = []
    for block in blocks:
        lines = block.strip().splitlines()
        student = lines[0].strip() == STUDENT_MARK
        commands += [(student, line) for line in lines if line.strip() and not line.startswith("#")]
    return commands


def solved(notebook):
    """The notebook with every solution cell's answer taken from the source notebook."""
    return answered(notebook, solution_answers(ROOT / "solutions" / "02_lstm_cell" / "lstm_cell.ipynb"))


def test_the_guide_runs_and_grades_correctly(tmp_path):
    course, home, exchange = tmp_path / "course", tmp_path / "home", tmp_path / "exchange"
    course.mkdir()
    home.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    for folder in ("solutions", "exercises"):
        shutil.copytree(ROOT / folder, course / folder)
    env = course_env()
    release = course / "exercises" / "02_lstm_cell" / "lstm_cell.ipynb"

    def check_the_route_without_jupyterhub():
        for student in ("alice", "bob"):
            assert (course / "feedback" / student / "02_lstm_cell" / "lstm_cell.html").exists(), student
        with (course / "grades.csv").open() as f:
            scores = {r["student_id"]: (float(r["score"]), float(r["max_score"])) for r in csv.DictReader(f)}
        assert scores["alice"] == (8.0, 8.0)
        assert scores["bob"] == (0.0, 8.0)
        assert scores["carol"] == (0.0, 8.0)          # imported, never submitted

    def before(command):
        """The students' part, just before the instructor's command that needs it."""
        if command.startswith("nbgrader zip_collect"):
            archive = course / "downloaded" / "02_lstm_cell" / "archive"
            archive.mkdir(parents=True)
            with zipfile.ZipFile(archive / "batch1.zip", "w") as z:          # alice: complete
                z.writestr("alice__lstm_cell.ipynb", nbformat.writes(solved(release)))
            shutil.copy(release, archive / "bob__lstm_cell.ipynb")          # bob: untouched
        if command.startswith("nbgrader release_assignment"):
            check_the_route_without_jupyterhub()
            # The JupyterHub route replaces steps 3 and 6: start it from graded nothing.
            for folder in ("downloaded", "submitted", "autograded", "feedback"):
                shutil.rmtree(course / folder)
            exchange.mkdir()
            setting = f'\nc.Exchange.root = "{exchange}"\n'
            (course / "nbgrader_config.py").write_text((course / "nbgrader_config.py").read_text() + setting)
            (home / "nbgrader_config.py").write_text("c = get_config()" + setting)
        if command.startswith("nbgrader validate 02_lstm_cell/"):            # the student did the work
            nbformat.write(solved(home / "02_lstm_cell" / "lstm_cell.ipynb"), home / "02_lstm_cell" / "lstm_cell.ipynb")

    outputs = []
    for in_home, command in guide_commands():
        if command.startswith("export PATH="):
            continue                                                        # env above does this
        before(command)
        run = subprocess.run(["bash", "-c", command], cwd=home if in_home else course, env=env,
                             capture_output=True, text=True)
        assert run.returncode == 0, f"`{command}` failed:\n{run.stdout}\n{run.stderr}"
        outputs.append((command, run.stdout + run.stderr))

    said = dict(outputs)
    assert "Success! Your notebook passes all the tests." in said["nbgrader validate solutions/02_lstm_cell/lstm_cell.ipynb"]
    # Only the two hidden tests' descriptions (their code is not released) pass.
    assert "NOTEBOOK PASSED ON 2 CELL(S)!" in said["nbgrader validate --invert exercises/02_lstm_cell/lstm_cell.ipynb"]
    assert "Success! Your notebook passes all the tests." in said["nbgrader validate 02_lstm_cell/lstm_cell.ipynb"]
    me = pwd.getpwuid(os.getuid())[0]             # the exchange knows students by their login
    assert (course / "autograded" / me / "02_lstm_cell" / "lstm_cell.ipynb").exists()
    fetched = list((home / "02_lstm_cell" / "feedback").glob("*/lstm_cell.html"))
    assert fetched, "fetch_feedback brought no feedback back to the student"
    assert "Score" in fetched[0].read_text() or "score" in fetched[0].read_text()


def test_every_nbgrader_command_of_the_guide_is_run():
    """Nothing in the guide that looks like a command escapes the test above."""
    text = re.sub(r"```sh\n.*?```", "", GUIDE.read_text(), flags=re.S)
    run = [command for _, command in guide_commands()]
    for inline in re.findall(r"`(nbgrader [^`]*|make [^`]*)`", text):
        if inline == "make test":
            continue                              # what CI runs
        if inline == "make exercises":            # the first command of step 1, for every assignment
            assert "nbgrader generate_assignment --force" in (ROOT / "Makefile").read_text()
            continue
        assert any(c.startswith(inline) for c in run), f"`{inline}` is in the guide but the test never runs it"


def test_the_guide_lists_every_assignment_with_its_points():
    """The table of assignments names each one in solutions/ once, with the points (and
    hidden points) its test cells carry."""
    rows = dict(re.findall(r"^\| `(\w+)` \| [^|]+ \| ([^|]+) \|", GUIDE.read_text(), flags=re.M))
    assignments = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
    assert sorted(rows) == assignments
    for name in assignments:
        (path,) = (ROOT / "solutions" / name).glob("*.ipynb")
        graded = [c for c in nbformat.read(path, as_version=4).cells if c.metadata.get("nbgrader", {}).get("grade")]
        total = sum(c.metadata["nbgrader"]["points"] for c in graded)
        hidden = sum(c.metadata["nbgrader"]["points"] for c in graded if "### BEGIN HIDDEN TESTS" in c.source)
        assert rows[name].strip() == f"{total:g} ({hidden:g})", name
