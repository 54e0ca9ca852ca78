# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PY ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test bench soak clean

$(STAMP): requirements.txt
	test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/python -m engine run

test: $(STAMP)
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(VENV)/bin/python -m bench

soak: $(STAMP)
	$(VENV)/bin/python -m bench.soak

clean:
	rm -rf $(VENV) var
