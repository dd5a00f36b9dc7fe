"""Submissions made from an assignment's notebooks, as a student might hand them in: the
release with some of its solution cells answered. One definition for the end-to-end test
(tests/test_exercises.py), the hostile corpus (tests/hostile/cases.py), the parallel
grading test and its benchmark (benchmarks/parallel_grading.py).
"""
import re

import nbformat

SOLUTION_MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\n", flags=re.M)


def solution_answers(source):
    """{grade_id: code} of the solution cells of a source notebook, markers removed."""
    return {c.metadata["nbgrader"]["grade_id"]: SOLUTION_MARKERS.sub("", c.source)
            for c in nbformat.read(source, as_version=4).cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def answered(release, answers):
    """The release notebook with the solution cells named in answers ({grade_id: code})
    holding that code; every other cell as released."""
    nb = nbformat.read(release, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers and cell.metadata["nbgrader"].get("solution"):
            cell.source = answers[gid]
    return nb


# Four kinds of student of exercise 02 (lstm_cell), for grading many submissions at once.
KINDS = ["complete", "sigmoid only", "untouched", "wrong gate order"]


def lstm_cell_submission(release, solution, kind):
    """A submission of exercise 02 by a student of one of KINDS. "wrong gate order" takes
    the candidate g from the output gate's block (a[:, 3H:]): a typical slicing mistake."""
    answers = solution_answers(solution)
    wrong = answers["lstm_step_forward"].replace("a[:, 2 * H:3 * H]", "a[:, 3 * H:]", 1)
    assert wrong != answers["lstm_step_forward"], "the solution no longer slices a[:, 2 * H:3 * H]"
    chosen = {"complete": answers, "sigmoid only": {"sigmoid": answers["sigmoid"]}, "untouched": {},
              "wrong gate order": {**answers, "lstm_step_forward": wrong}}[kind]
    return answered(release, chosen)
