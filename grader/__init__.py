"""Grading infrastructure of the course: nbgrader, hardened and parallel.

- grader.sandbox: the sandboxed kernel (bubblewrap, resource limits), the Execute step
  that grades a notebook whatever it does, and the reader of unreadable submissions;
  nbgrader_config.py plugs them into `nbgrader autograde`.
- grader.userns: the start of the sandbox when the grader runs as root (the kernel then
  runs as an unprivileged host user, not as root).
- grader.feedback: feedback pages and formgrader views that never run a student's script.
- grader.hidden: hidden tests, their inputs drawn from the course's secret and their code not shown.
- grader.integrity: noticing a notebook that changed the code its tests rely on.
- grader.parallel: `python -m grader.parallel ASSIGNMENT --workers N`, autograding
  many submissions at once with the same grades as `nbgrader autograde`.
- grader.similarity: `python -m grader.similarity ASSIGNMENT`, a report (CSV, HTML) of
  the submissions whose graded code is close to lstm_ref, the solutions or another
  submission (copydetect's fingerprints), for an instructor to review; it grades nothing.
"""
