# Two commands for a fresh machine:  `make demo`  and  `make test`.
# Both create (or reuse) a local virtual environment in .venv first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH  ?= torch==2.14.1 torchvision==0.29.1

.PHONY: demo test docs install bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e '.[test,plot,examples,fid,docs]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/invgan demo

test: install
	$(BIN)/python -m pytest -q
	$(MAKE) docs

# The documentation site (docs/conf.py), warnings as errors, from a fresh environment so a page
# added or removed since the last build is never missed (about 15 s on 2 cores). Then a check that
# it reads offline: no page loads a script or stylesheet over the network (MathJax is bundled;
# tests/system/test_docs_offline.py checks the same, and images too).
docs: install
	rm -rf docs/api/generated
	$(BIN)/python -m sphinx -W --keep-going -E -q -b html docs docs/_build/html
	@! grep -rlE '<(script|link)[^>]*(src|href)="(https?:)?//' docs/_build/html --include='*.html' \
		|| { echo "docs: the pages above load a network resource (they must read offline)"; exit 1; }
	@echo "docs: open docs/_build/html/index.html"

bench: install   # every benchmark, one table of ratios (quick: < 10 min on 2 cores); `python -m benchmarks --full` for more
	$(BIN)/python -m benchmarks --quick

clean:
	rm -rf $(VENV) runs docs/_build docs/api/generated docs/examples
