# The two commands of the README: `make book` and `make test`.
# Both create .venv/ when it is missing or stale. "Stale" means the dependency files
# (pyproject.toml, constraints.txt) changed: the stamp file is named after their hash,
# so a second run with the same files installs nothing.

PYTHON  ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
DEPS    := pyproject.toml constraints.txt
STAMP   := $(VENV)/.stamp-$(shell cat $(DEPS) | sha256sum | cut -c1-16)
# nbgrader calls alembic from PATH, so the venv's bin/ goes first for every recipe.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: venv test book benchmark lock clean

venv: $(STAMP)

$(STAMP): $(DEPS)
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; this course needs Python 3.11 (set PYTHON=...)" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[course]"
	@rm -f $(VENV)/.stamp-*
	@touch $@

test: $(STAMP)
	$(BIN)/python -m pytest

book: $(STAMP)
	@start=$$(date +%s); \
	$(BIN)/jupyter-book build --warningiserror --keep-going . && \
	echo "book built in $$(( $$(date +%s) - start )) s: _build/html/index.html"

benchmark: $(STAMP)
	$(BIN)/python benchmarks/lstm_speed.py

# Re-pin the transitive dependency set after changing a pin in pyproject.toml.
lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^lstm_ref' > constraints.txt

clean:
	rm -rf _build
