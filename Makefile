# Two commands for a fresh machine:  `make demo`  and  `make test`.
# Both create (or reuse) a local virtual environment in .venv first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH  ?= torch==2.14.1 torchvision==0.29.1

.PHONY: demo test install bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e '.[test,plot,examples]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/invgan demo

test: install
	$(BIN)/python -m pytest -q

bench: install   # every benchmark, one table of ratios (quick: < 10 min on 2 cores); `python -m benchmarks --full` for more
	$(BIN)/python -m benchmarks --quick

clean:
	rm -rf $(VENV) runs
