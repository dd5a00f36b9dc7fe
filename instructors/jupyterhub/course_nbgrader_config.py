
# ---------------------------------------------------------------- on the course's JupyterHub
# Added to the end of the course folder's nbgrader_config.py (the repository's) in the
# grader account's course folder (instructors/guide.md, "On a JupyterHub"): one file, read
# by the formgrader and by `python -m grader.parallel` alike. The global configuration
# (global_nbgrader_config.py) sets the exchange.
import math  # noqa: E402

from nbgrader.plugins import LateSubmissionPlugin  # noqa: E402


class OnePointPerStartedHourLate(LateSubmissionPlugin):
    """The course's late penalty: one point per started hour after the due date (with any
    extension), never more than the score. nbgrader applies it when autograding a
    submission whose timestamp is after the due date; set the due date in the formgrader
    (Manage Assignments) or with `nbgrader db assignment add ASSIGNMENT --duedate=...`."""

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        return min(score, math.ceil(total_seconds_late / 3600))


c.AssignLatePenalties.plugin_class = OnePointPerStartedHourLate
