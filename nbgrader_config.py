"""nbgrader configuration of the course. Instructors run nbgrader's standard commands from
this folder (see the instructor guide in the book):

    nbgrader generate_assignment lstm_cell     # solutions/lstm_cell -> exercises/lstm_cell
    nbgrader autograde lstm_cell               # submitted/<student>/lstm_cell -> autograded/...
    nbgrader generate_feedback lstm_cell       # -> feedback/<student>/lstm_cell/*.html
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
