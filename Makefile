# The two commands of the README: `make demo` (the tiny nano3 recipe, locally, on the CPU) and `make test` (everything).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH ?= torch==2.13.0
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: venv demo test check nbtest docscheck docslint pytest bench docs readme clean

# Torch first and pinned: the local CPU wheel, so that no other requirement pulls a multi-GB CUDA build.
$(STAMP): settings.ini setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	@bash .ci/demo.sh

# Notebooks and package in sync (nbdev_export changes nothing), notebooks clean (nbdev_clean changes nothing).
check: venv
	@before=$$(find nbs nemotron_nb -type f \( -name '*.ipynb' -o -name '*.py' \) -not -path '*/.ipynb_checkpoints/*' -print0 | sort -z | xargs -0 sha256sum); \
	$(BIN)/nbdev_export && $(BIN)/nbdev_clean; \
	after=$$(find nbs nemotron_nb -type f \( -name '*.ipynb' -o -name '*.py' \) -not -path '*/.ipynb_checkpoints/*' -print0 | sort -z | xargs -0 sha256sum); \
	if [ "$$before" != "$$after" ]; then echo "nbdev_export/nbdev_clean changed these files (commit the exported, cleaned versions):"; \
	  diff <(echo "$$before") <(echo "$$after") | grep '^[<>]' | awk '{print $$3}' | sort -u; exit 1; fi; \
	echo "notebooks clean, package in sync with the notebooks"

nbtest: venv
	$(BIN)/nbdev_test --flags slow

# Chromium for the browser tests comes from Debian (installed here when root or with sudo; otherwise they are skipped
# with the one line that says how); the Slurm and SSH tests install and start their own daemons.
pytest: venv
	@bash tests/install_browser.sh
	$(BIN)/pytest -q tests

# The docs short of the Quarto render: execute the notebooks keeping outputs, nbdev_proc_nbs, render pages as the site shows
# them (offline: local plotly.js, MathML, static widget pictures) under _proc/_html, figures present, pages linted.
docscheck: venv
	bash .ci/docs_check.sh

# The lint alone, on pages already rendered (by docscheck; or any folder of pages): network scripts, raw $$, widget
# reprs, missing images or scripts.
docslint:
	$(BIN)/python .ci/docs_lint.py $(or $(PAGES),_proc/_html)

test: venv
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory check && $(MAKE) --no-print-directory nbtest && $(MAKE) --no-print-directory docscheck && $(MAKE) --no-print-directory pytest; rc=$$?; \
	echo "make test: exit $$rc after $$(( $$(date +%s) - start )) s"; exit $$rc

bench: venv
	@for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# README.md is generated from nbs/index.ipynb (tests/test_hygiene.py checks that it is current).
readme: venv
	$(BIN)/jupyter nbconvert --to markdown --stdout nbs/index.ipynb --log-level WARN | sed 's#](images/#](nbs/images/#g' > README.md

# The site: the notebooks executed (outputs and figures kept) under _exec, then nbdev_docs renders it with Quarto into _docs.
docs: venv
	@if command -v quarto >/dev/null; then \
	  $(BIN)/python .ci/execute_nbs.py nbs _exec --flags slow && $(BIN)/python .ci/proc_nbs.py _exec --docs && echo "site: _docs/index.html"; else \
	  echo "Quarto is not installed, so the site cannot be rendered here. Install it from https://quarto.org/docs/get-started/"; \
	  echo "and run 'make docs' again. Checking every step short of the render instead:"; \
	  bash .ci/docs_check.sh; fi

clean:
	rm -rf _proc _exec _docs output .nemotron
