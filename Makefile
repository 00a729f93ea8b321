# Two commands set everything up on a fresh machine:
#   make run    venv + install + synthetic demo store (if none) + start the dashboard
#   make test   venv + install test tools + run the whole suite (fails if no test ran)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STORE ?= store
PORT ?= 8501

.PHONY: run test store bench clean-store

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

store: $(VENV)/.installed
	@if [ -f "$(STORE)/_manifest.json" ]; then \
		echo "Using the existing store in $(STORE)/"; \
	else \
		echo "No store in $(STORE)/: building the synthetic demo store (5 years, seed 1)"; \
		$(PY) -m data.synthetic --store "$(STORE)" --years 5 --seed 1; \
	fi

run: store
	STORE_URL="$(STORE)" $(PY) -m streamlit run dashboard.py --server.port $(PORT)

# pytest exits 5 when it collected no test: treat that as a failure, never as green.
test: $(VENV)/.installed-test
	$(PY) -m pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest ran no test: failing"; exit 1; fi; \
	exit $$status

bench: $(VENV)/.installed-test
	$(PY) bench/bench_ingest.py

clean-store:
	rm -rf "$(STORE)"
