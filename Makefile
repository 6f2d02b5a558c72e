# Two commands set everything up on a fresh Debian 12 machine: `make run`, `make test`.
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: setup run test demo lint typecheck protos check-protos check-deploy unit bench chaos screenshots clean

setup:
	@bash scripts/bootstrap.sh

run: setup
	$(PY) -m devstack run

demo: setup
	$(PY) -m devstack demo

protos: setup
	$(PY) scripts/gen_protos.py

check-protos:
	$(PY) scripts/gen_protos.py --check

lint:
	$(BIN)/ruff check .

typecheck:
	$(BIN)/mypy crm_platform services gateway devstack edge_agent benchmarks tests scripts

check-deploy:
	BIN=$(BIN) bash scripts/check_deploy.sh

unit: setup
	$(PY) -m pytest tests/unit -q

# The whole suite: static checks, then unit, integration and end-to-end tests
# against the real RabbitMQ, SecantusDB and SeaweedFS started by devstack.
test: setup check-protos lint typecheck check-deploy
	$(PY) -m pytest -q -p no:cacheprovider

bench: setup
	$(PY) -m benchmarks.run_all

# The fault suite, full version: SIGKILLs and a broker restart while kiosks submit
# a few hundred actas each, then every invariant (README, "Fault suite").
chaos: setup
	$(PY) -m tests.chaos

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache

# The README's screenshots of the web app (docs/screenshots/), from a demo stack.
screenshots: setup
	$(BIN)/python scripts/screenshots.py
