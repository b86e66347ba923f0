# The two commands of the README: `make demo` and `make test`. Both set up what they need themselves.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: test demo venv system-packages embedded-pgtap lint clean corpus fuzz screenshot

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[test]' 2>&1 | grep -v '^WARNING: Location' || true
	@$(PY) -c 'import runner, psycopg, yoyo, symusic, mido, blake3, pytest_postgresql' || { echo "pip install failed" >&2; exit 1; }
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

system-packages:
	@scripts/ensure-system-packages.sh

# pgTAP is plain SQL: Debian's package files load on the embedded server too (copied only when they differ)
embedded-pgtap: venv system-packages
	@$(PY) -m tests.servers install-pgtap

# The whole suite on each server: Debian's PostgreSQL and the embedded one users get, one after the other
# (TEST_PARALLEL=1 runs them side by side: a run keeps about one core busy, so that takes about half the
# time, but the load shifts the timing of a few tests that race processes against each other; see
# docs/development.md). Both runs always go to their end; make fails if either failed.
# TEST_SERVERS=embedded (or debian) runs one.
TEST_SERVERS ?= debian embedded
TEST_PARALLEL ?= 0
test: venv system-packages embedded-pgtap
	@PY=$(PY) TEST_PARALLEL=$(TEST_PARALLEL) scripts/test-servers.sh $(TEST_SERVERS) -- $(PYTEST_ARGS)

# The import/analysis fuzzer (tests/fuzz.py) for as long as asked: `make fuzz FUZZ_SECONDS=600`, or a
# count of inputs: `make fuzz FUZZ_INPUTS=20000`; FUZZ_SEED picks the stream (default: a new one each run).
ifdef FUZZ_INPUTS
FUZZ_SECONDS ?= 1000000000
else
FUZZ_SECONDS ?= 300
FUZZ_INPUTS  := 1000000000
endif
FUZZ_SEED    ?= $(shell date +%s)
fuzz: venv system-packages
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_INPUTS=$(FUZZ_INPUTS) FUZZ_SEED=$(FUZZ_SEED) FUZZ_ROUND=$${FUZZ_ROUND:-300} \
	FUZZ_VERBOSE=1 $(PY) -m pytest tests/test_fuzz.py -q -s

demo: venv
	$(VENV)/bin/midicenter demo

# The real-song corpus `midicenter bench analyze` reads (Debian MIDI files and ABC songs rendered by abc2midi),
# built into the cache folder by the test tooling: the installed package never downloads anything.
corpus: venv
	$(PY) -m tests.corpus songs

# docs/browse.png, the README's picture of `midicenter browse`, as the browser test takes it
screenshot: venv system-packages
	MIDICENTER_UPDATE_SCREENSHOT=1 $(PY) -m pytest -q tests/test_browse_page.py -k as_a_user

lint: venv
	$(VENV)/bin/ruff check runner tests

clean:
	rm -rf $(VENV) build dist *.egg-info
