"""Flag submissions whose graded code is close to the course's public code or to another's.

    python -m grader.similarity ASSIGNMENT [--autograded] [--threshold 0.6]

run from the course folder (the one with nbgrader_config.py). For each student it takes
the code of the solution cells (the cells a student writes, metadata nbgrader.solution)
of their notebooks in submitted/<student>/ASSIGNMENT/ (with --autograded, autograded/),
and compares it with copydetect (https://github.com/blingenf/copydetect), a detector by
fingerprints, like MOSS: the code is turned into tokens (every name becomes V, F or O,
every string S; comments and spaces go), and two pieces of code share what they share as
runs of at least NOISE tokens. The starter code every student received (the solution
cells of the released notebooks: the def line, the docstring, `raise
NotImplementedError()`) is boilerplate, never counted. Each submission is compared with
the reference, the Python source of lstm_ref (but lstm_ref.grading) and the solution
cells of solutions/ASSIGNMENT/*.ipynb, and with every other submission.

The report is reports/similarity/ASSIGNMENT/similarity.csv and .html, one row per
student, most similar first. A similarity is the fraction of the student's own tokens
(those not from the starter code) found in the other code: 1.0 means that everything
the student wrote is there too. `tokens` counts the student's own tokens. A student is
flagged when a similarity reaches --threshold and they wrote at least --min-tokens
tokens; the HTML shows each flagged pair side by side, the shared code highlighted.
A flag asks for a look, not a verdict: the course is open, and a short function has few
ways to be written. The command never changes a grade and writes nothing but the report.
"""
import argparse
import csv
import html
import io
import sys
from pathlib import Path

import nbformat
from copydetect import CodeFingerprint, compare_files
from copydetect.utils import highlight_overlap

import lstm_ref

from .parallel import load_course

# copydetect's own defaults: code must share a run of at least 25 tokens to count
# (shorter runs, like `V=V*V+V*V`, occur in any code), and with the guarantee threshold
# equal to it every run of 25 is kept (window 1), so the numbers do not depend on hashing.
NOISE, WINDOW = 25, 1
# 0.6, from exercise 02 (tests/test_similarity.py): a copy of the solution is 1.0 from it,
# a copy with renamed variables 1.0 from its original; a solution written independently
# but the course's way (one matrix product, then the four gates, the same cache) is 0.35
# from the course's, one written differently 0.09. copydetect's own default, 0.33, would
# flag the first: a short exercise has few ways to be written, so a few lines are alike.
THRESHOLD = 0.6
# A student who wrote fewer tokens than this is never flagged: one short line is the same
# in many notebooks. A run of 25 may reach 24 tokens into the starter code on each side
# of an answer, so on exercise 02 the starter alone counts 0, the one line
# `return 1 / (1 + np.exp(-x))` 51, the course's two-line sigmoid 77, its whole solution 208.
MIN_TOKENS = 60
REPORTS = Path("reports") / "similarity"


def solution_code(notebooks):
    """The code of the solution cells of the notebooks (paths), in order, each cell after
    a comment naming it; returns a str ("" when there is none)."""
    cells = []
    for path in sorted(notebooks):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("solution"):
                cells.append(f"# {Path(path).name}, {meta.get('grade_id')}\n{cell.source}\n")
    return "\n".join(cells)


def fingerprint(name, code, boilerplate=()):
    """copydetect's CodeFingerprint of the Python code (a str) called name, with the
    fingerprints in boilerplate (an array of hashes) left out."""
    return CodeFingerprint(name, NOISE, WINDOW, boilerplate=list(boilerplate),
                           language="python", fp=io.StringIO(code))


def reference_code(root, source_dir, assignment):
    """{name: code} of the public reference: every module of lstm_ref but its grading
    package, and the solution cells of the course's solutions of the assignment."""
    package = Path(lstm_ref.__file__).parent
    refs = {f"lstm_ref/{p.relative_to(package)}": p.read_text(encoding="utf-8")
            for p in sorted(package.rglob("*.py")) if "grading" not in p.relative_to(package).parts}
    for nb in sorted((root / source_dir / assignment).glob("*.ipynb")):
        refs[f"{source_dir}/{assignment}/{nb.name}"] = solution_code([nb])
    return refs


def submissions(root, step, assignment):
    """{student: (code, note)} of the assignment's submissions under root/step; note says
    why code is "" when a notebook could not be read."""
    found = {}
    for folder in sorted((root / step).glob(f"*/{assignment}")):
        try:
            notebooks = [p for p in folder.glob("*.ipynb") if not p.is_symlink()]
            found[folder.parent.name] = (solution_code(notebooks), "")
        except Exception as err:               # not JSON, not a notebook: nothing to compare
            found[folder.parent.name] = ("", f"unreadable notebook: {type(err).__name__}")
    return found


def closest(mine, others):
    """(name, similarity, shared tokens, slices) of the fingerprint among others ({name:
    CodeFingerprint}) that holds the largest fraction of mine's tokens; slices are
    copydetect's (mine's, theirs); ("", 0.0, 0, None) when none shares any."""
    best = ("", 0.0, 0, None)
    for name, other in others.items():
        shared, (similarity, _), slices = compare_files(mine, other)
        if similarity > best[1]:
            best = (name, float(similarity), int(shared), slices)
    return best


def rank(subs, refs, starter, threshold=THRESHOLD, min_tokens=MIN_TOKENS):
    """One row (a dict) per student of subs ({student: (code, note)}), most similar first,
    comparing with refs ({name: code}) and the other students, starter (code) left out;
    and the flagged pairs: [(row, "student" or "reference", the two fingerprints, slices)]."""
    boilerplate = fingerprint("starter.py", starter).hashes
    prints = {s: fingerprint(f"{s}.py", code, boilerplate) for s, (code, _) in subs.items()}
    ref_prints = {name: fingerprint(name, code) for name, code in refs.items()}
    rows, pairs = [], []
    for student, mine in prints.items():
        row = {"student": student, "flagged": "no", "tokens": int(mine.token_coverage)}
        for kind, others in (("student", {s: p for s, p in prints.items() if s != student}),
                             ("reference", ref_prints)):
            name, similarity, shared, slices = closest(mine, others)
            row.update({f"closest_{kind}": name, f"{kind}_similarity": round(similarity, 3),
                        f"{kind}_shared_tokens": shared})
            if similarity >= threshold and row["tokens"] >= min_tokens:
                row["flagged"] = "yes"
                pairs.append((row, kind, (mine, others[name]), slices))
        row["note"] = subs[student][1] or ("wrote less than --min-tokens"
                                          if row["tokens"] < min_tokens else "")
        rows.append(row)
    rows.sort(key=lambda r: (-max(r["student_similarity"], r["reference_similarity"]),
                             -r["tokens"], r["student"]))
    return rows, pairs


COLUMNS = ["student", "flagged", "tokens", "closest_student", "student_similarity",
           "student_shared_tokens", "closest_reference", "reference_similarity",
           "reference_shared_tokens", "note"]


def write_csv(rows, path):
    """Write rows (rank's) to the CSV file at path, COLUMNS in that order."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def highlighted(fp, slices):
    """The raw code of the fingerprint fp as safe HTML: every character escaped, the
    slices (copydetect's starts and ends) wrapped in <mark>."""
    if slices is None or slices.size == 0:
        return html.escape(fp.raw_code)
    code, _ = highlight_overlap(fp.raw_code, slices, "<mark>", "</mark>", escape_html=True)
    return code


def write_html(rows, pairs, path, title):
    """Write the HTML report to path: the table of rows, then each flagged pair (from
    rank) side by side. Everything from a submission goes through html.escape, or
    through copydetect's highlight_overlap, which escapes (markupsafe) all but its marks."""
    e = html.escape
    head = "".join(f"<th>{e(c)}</th>" for c in COLUMNS)
    body = "".join("<tr" + (' class="flag"' if r["flagged"] == "yes" else "") + ">"
                   + "".join(f"<td>{e(str(r[c]))}</td>" for c in COLUMNS) + "</tr>\n" for r in rows)
    shown, sections = set(), []
    for row, kind, (mine, theirs), slices in pairs:
        other = row[f"closest_{kind}"]
        if frozenset((row["student"], other)) in shown:
            continue                               # a pair of students: shown once
        shown.add(frozenset((row["student"], other)))
        sections.append(
            f"<h2>{e(row['student'])} and {e(other)}: {row[f'{kind}_similarity']:.0%} of "
            f"{e(row['student'])}'s code</h2>\n<table class=\"pair\"><tr>"
            f"<th>{e(row['student'])}</th><th>{e(other)}</th></tr><tr>"
            f"<td><pre>{highlighted(mine, slices[0])}</pre></td>"
            f"<td><pre>{highlighted(theirs, slices[1])}</pre></td></tr></table>\n")
    style = ("body{font-family:sans-serif} td,th{border:1px solid #ccc;padding:2px 6px;"
             "vertical-align:top} tr.flag{background:#fdd} mark{background:#fc8} "
             "pre{font-size:12px;white-space:pre-wrap} table.pair td{width:50%}")
    Path(path).write_text(
        f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{e(title)}</title>"
        f"<style>{style}</style></head><body>\n<h1>{e(title)}</h1>\n<p>A similarity is "
        f"the fraction of the student's own code (not the starter code) found in the other "
        f"code. A flag asks for a look, not a verdict; it changes no grade.</p>\n"
        f"<table><tr>{head}</tr>\n{body}</table>\n{''.join(sections)}</body></html>\n",
        encoding="utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m grader.similarity",
        description="Rank an assignment's submissions by how similar their graded code is "
                    "to lstm_ref, the course's solutions and each other. Run it from the "
                    "course folder; it writes a report and changes nothing else.")
    parser.add_argument("assignment")
    parser.add_argument("--autograded", action="store_true",
                        help="read autograded/ instead of submitted/")
    parser.add_argument("--threshold", type=float, default=THRESHOLD,
                        help=f"flag from this similarity, 0 to 1 (default {THRESHOLD})")
    parser.add_argument("--min-tokens", type=int, default=MIN_TOKENS,
                        help=f"never flag a student who wrote fewer tokens (default {MIN_TOKENS})")
    parser.add_argument("--course", default=".", help="the course folder (default: here)")
    args = parser.parse_args(argv)
    if not 0 < args.threshold <= 1:
        parser.error(f"--threshold: expected a number in (0, 1], got {args.threshold}")
    a = args.assignment
    if Path(a).name != a or a in (".", ".."):
        parser.error(f"expected an assignment's name, like 02_lstm_cell; got {a!r}")
    _, coursedir = load_course(args.course)
    root = Path(coursedir.root)
    step = coursedir.autograded_directory if args.autograded else coursedir.submitted_directory
    release = sorted((root / coursedir.release_directory / a).glob("*.ipynb"))
    if not release:
        known = sorted(p.name for p in (root / coursedir.release_directory).glob("*") if p.is_dir())
        raise SystemExit(f"error: no released notebooks of {a!r}: expected "
                         f"{coursedir.release_directory}/{a}/*.ipynb (the starter code); "
                         f"assignments released: {', '.join(known) or 'none'}")
    subs = submissions(root, step, a)
    if not subs:
        found = sorted(p.name for p in (root / step).glob("*/*") if p.is_dir())
        raise SystemExit(f"error: no submissions of {a!r}: expected {step}/<student>/{a}/; "
                         f"assignments found in {step}/: {', '.join(sorted(set(found))) or 'none'}")
    rows, pairs = rank(subs, reference_code(root, coursedir.source_directory, a),
                       solution_code(release), args.threshold, args.min_tokens)
    out = root / REPORTS / a
    out.mkdir(parents=True, exist_ok=True)
    write_csv(rows, out / "similarity.csv")
    write_html(rows, pairs, out / "similarity.html", f"Similarity of {a} ({step}/)")
    flagged = [r["student"] for r in rows if r["flagged"] == "yes"]
    for r in rows:
        print(f"{r['student']:>20}  {r['tokens']:5d} tokens  student {r['student_similarity']:.2f} "
              f"({r['closest_student'] or '-'})  reference {r['reference_similarity']:.2f} "
              f"({r['closest_reference'] or '-'}){'  FLAGGED' if r['flagged'] == 'yes' else ''}")
    print(f"{len(rows)} submissions of {a} compared, {len(flagged)} flagged "
          f"(similarity >= {args.threshold:g}): {out / 'similarity.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
