"""nbgrader configuration of the course. Instructors run nbgrader's standard commands from
this folder (see the instructor guide in the book):

    nbgrader generate_assignment 02_lstm_cell  # solutions/02_lstm_cell -> exercises/02_lstm_cell
    nbgrader autograde 02_lstm_cell            # submitted/<student>/02_lstm_cell -> autograded/...
    python -m grader.parallel 02_lstm_cell     # the same, several submissions at a time
    nbgrader generate_feedback 02_lstm_cell    # -> feedback/<student>/02_lstm_cell/*.html
    nbgrader export                            # -> grades.csv

nbgrader runs `alembic` from PATH: run it with the course's virtual environment active
(or .venv/bin first on PATH).
"""
c = get_config()  # noqa: F821  (nbgrader provides get_config)

c.CourseDirectory.course_id = "lstms-from-first-principles"
# Instructors write solutions/<assignment>/*.ipynb (with solutions and hidden tests);
# the student versions in exercises/ are generated from them and committed.
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.GenerateAssignment.create_assignment = True

# Per-cell time limit while autograding. Importing TensorFlow and PyTorch takes ~8 s
# on a 2-core machine, and the training cells of the framework exercises up to ~60 s.
c.Execute.timeout = 180

# A student who deletes a graded cell gets it back from the gradebook, not a crash.
c.OverwriteCells.add_missing_cells = True

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# zip_collect (submissions downloaded from a learning-management system, no JupyterHub):
# name each file <student_id>__<notebook>.ipynb, e.g. alice__lstm_cell.ipynb, loose or in
# zip archives, and put them in downloaded/<assignment>/archive/. nbgrader matches this
# expression against each extracted file's full path.
c.FileNameCollectorPlugin.named_regexp = r".*/(?P<student_id>[A-Za-z0-9.-]+)__(?P<file_id>[^/]+)\.ipynb$"

# Grading safely. nbgrader runs every submission's code with the grader's own privileges;
# the course's grader package (grader/sandbox.py, and "Limits and isolation" in the
# instructor guide) instead runs each grading kernel in a bubblewrap sandbox that sees
# neither the gradebook, the solutions, this file nor other submissions, under the limits
# below, and grades whatever a notebook does: a kernel that dies or hangs, an unreadable
# file, duplicated or forged cells, code that tampers with the checks.
try:
    from grader import feedback, sandbox
except ImportError as err:        # fail loudly: never grade unsandboxed by accident
    raise SystemExit(f"nbgrader_config.py: cannot import the course's grader package ({err}); "
                     f"install the course (pip install -e .) where nbgrader runs") from err

c.Autograde.sanitize_preprocessors = sandbox.sanitize_preprocessors()
c.Autograde.autograde_preprocessors = sandbox.autograde_preprocessors()
c.Autograde.exporter_class = sandbox.TolerantNotebookExporter
# Limits of every grading kernel (and c.Execute.timeout above, per cell): the values the
# instructor guide's table states (tests/test_hostile.py checks that they agree).
c.SandboxedKernelManager.memory_limit = "4G"     # address space; TF + PyTorch reserve ~2 GiB
c.SandboxedKernelManager.file_size_limit = "256M"  # largest file a kernel may write
c.SandboxedKernelManager.tmp_size = "256M"       # its private /tmp, held in memory
c.SandboxedKernelManager.max_processes = 512     # processes and threads
c.SandboxedExecute.max_output_bytes = 2**20      # output kept per cell; the rest is cut

# Feedback pages (`nbgrader generate_feedback`) and the formgrader's view of a submission
# never run a student's script: nbconvert's sanitize_html drops JavaScript outputs and
# widgets, and the course's filters (grader/feedback.py) clean every Markdown cell and
# every HTML or Markdown output with bleach (no <script>, no onerror=, no javascript:).
c.HTMLExporter.sanitize_html = True
c.HTMLExporter.filters = feedback.FILTERS
