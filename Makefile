# The two commands of the README: `make demo` and `make test`. Both set up what they need themselves.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: test demo venv system-packages lint clean corpus

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[test]' 2>&1 | grep -v '^WARNING: Location' || true
	@$(PY) -c 'import runner, psycopg, yoyo, symusic, mido, blake3, pytest_postgresql' || { echo "pip install failed" >&2; exit 1; }
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

system-packages:
	@scripts/ensure-system-packages.sh

test: venv system-packages
	$(PY) -m pytest $(PYTEST_ARGS)

demo: venv
	$(VENV)/bin/midicenter demo

# The real-song corpus `midicenter bench analyze` reads (Debian MIDI files and ABC songs rendered by abc2midi),
# built into the cache folder by the test tooling: the installed package never downloads anything.
corpus: venv
	$(PY) -m tests.corpus songs

lint: venv
	$(VENV)/bin/ruff check runner tests

clean:
	rm -rf $(VENV) build dist *.egg-info
