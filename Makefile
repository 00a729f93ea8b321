# Two commands set everything up on a fresh machine:
#   make run    venv + install + map assets + synthetic demo store (if none) + start the dashboard
#   make test   venv + install test tools + run the whole suite (fails if no test ran)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STORE ?= store
PORT ?= 8501
WORKERS ?= 2

.PHONY: run cluster test store bench clean-store assets

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

# Map front-end files (Leaflet and plugins), served by the app itself from static/vendor/:
# exact versions from package-lock.json, never fetched at run time (docs/offline-maps.md).
# npm ci also installs the devDependencies: axe-core, which the accessibility browser test
# injects from node_modules/axe-core/axe.min.js (docs/accessibility.md); `make test` needs it.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund

# Redone when the pinned packages, folium or the script change (or the folder is gone): a
# Python start on every `make run` otherwise. The manifest is touched because the script
# leaves an unchanged one as it was.
VENDORED := static/vendor/manifest.json
assets: $(VENDORED)
$(VENDORED): node_modules/.package-lock.json $(VENV)/.installed tools/vendor_assets.py
	$(PY) tools/vendor_assets.py
	@touch $@

store: $(VENV)/.installed
	@if [ -f "$(STORE)/_manifest.json" ]; then \
		echo "Using the existing store in $(STORE)/"; \
	elif case "$(STORE)" in postgres*://*) true;; *) false;; esac && $(PY) -c \
		'import sys; from storage.open import open_store; sys.exit(not open_store(sys.argv[1]).batches())' \
		"$(STORE)"; then \
		echo "Using the existing PostGIS store"; \
	else \
		echo "No store in $(STORE)/: building the synthetic demo store (5 years, seed 1)"; \
		$(PY) -m data.synthetic --store "$(STORE)" --years 5 --seed 1; \
	fi

# The hotspot model's grids and the ingest's LSOA lookup table, built from the shipped
# boundaries and kept in instance/cache (models/prime_grids.py). Redone only when the code,
# the boundaries or the installed libraries change: checking costs a Python start and 1.7 s
# on every `make run` otherwise. A stale or damaged file is rebuilt by the server anyway.
PRIMED := instance/cache/.primed
$(PRIMED): $(VENV)/.installed $(wildcard core/*.py data/*.py geo/*.py models/*.py) \
		$(wildcard data/boundaries/*)
	$(PY) -m models.prime_grids
	@touch $@

# The project's own modules compiled to bytecode once, so a fresh server does not compile them
# on every start (where PYTHONDONTWRITEBYTECODE is set, Python never keeps what it compiles).
BYTECODE := $(VENV)/.bytecode
PACKAGES := core data geo storage safeguards models maps views pages ui reports
$(BYTECODE): $(VENV)/.installed dashboard.py $(foreach p,$(PACKAGES),$(wildcard $(p)/*.py))
	@$(PY) -m compileall -q $(PACKAGES) dashboard.py
	@touch $@

# ui.serve: `streamlit run dashboard.py` with the pages' imports, boundaries and hotspot grid
# warmed in the server's own process (ui/serve.py says why this way).
# No file watcher unless ARGS names one (ui.serve.without_file_watcher), e.g.
#   make run ARGS="--server.fileWatcherType auto"   (a rerun offered when a source file is saved)
run: store assets $(PRIMED) $(BYTECODE)
	STORE_URL="$(STORE)" $(PY) -m ui.serve --server.port $(PORT) $(ARGS)

# Several dashboard processes behind HAProxy with sticky sessions (deploy/cluster.py; needs
# Debian's haproxy). Meant for the PostGIS store, which all workers share:
#   make cluster WORKERS=3 STORE=postgresql://wy@localhost:5432/wy
# HAProxy listens on PORT, the workers on the WORKERS ports after it; Ctrl-C stops them all.
cluster: store assets $(PRIMED) $(BYTECODE)
	STORE_URL="$(STORE)" $(PY) deploy/cluster.py --workers $(WORKERS) --port $(PORT)

# Two runs: the in-process tests spread over TEST_WORKERS processes (pytest-xdist, one test
# file per process at a time), then the browser tests in one process (each drives its own
# server and Chromium, which already fill the machine's cores).
# pytest exits 5 when it collected no test: treat that as a failure, never as green.
TEST_WORKERS ?= 2
test: $(VENV)/.installed-test assets
	@$(PY) -m tests.pgcluster check || true  # says whether the PostGIS store tests run, and why not
	@$(PY) -m pytest -m "not e2e" -n $(TEST_WORKERS) --dist loadfile; unit=$$?; \
	$(PY) -m pytest -m e2e; browser=$$?; \
	for status in $$unit $$browser; do \
		if [ $$status -eq 5 ]; then echo "make test: a pytest run collected no test: failing"; exit 1; fi; \
	done; \
	echo "make test: in-process tests exit $$unit, browser tests exit $$browser"; \
	[ $$unit -eq 0 ] && [ $$browser -eq 0 ]

bench: $(VENV)/.installed-test
	$(PY) bench/bench_ingest.py

clean-store:
	rm -rf "$(STORE)"
