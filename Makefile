# assetkit. The two commands of the README:
#   make demo   build, start assetkitd on SQLite, report this host, show the asset
#   make test   install test dependencies, build everything, run every test
# and the same main job on PostgreSQL (a throw-away cluster): make demo-pg
.PHONY: demo demo-pg pg-test test deps build docs rust-test python-test contract contract-seeds openapi-bundle fuzz wheel-dev wheel packages repo bench lint fmt clean

VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

demo:
	./scripts/demo.sh

demo-pg: deps
	./scripts/demo.sh postgres

deps:
	./scripts/deps.sh

build: deps
	cargo build --workspace --all-targets
	$(VENV)/bin/maturin develop --quiet

# The whole suite: the book (built, its links checked), Rust unit + integration tests (the
# receiver's on SQLite, then again on PostgreSQL), packages, the Python extension, Salt, Ansible,
# Cobbler rendering, the console in Chromium, every example of the README and the book
# (tests/test_book.py), then each fuzz target for FUZZ_SECONDS. sshd, PostgreSQL and receivers
# are started by the tests.
# 45 s a target (the package readers a third of that) keeps a fresh machine's CI under 40 minutes;
# the committed corpora carry what earlier runs found.
FUZZ_SECONDS ?= 45
test: build lint
	$(MAKE) docs
	cargo test --workspace
	$(MAKE) pg-test
	$(MAKE) packages PROFILE=dev
	$(VENV)/bin/maturin build --profile dev --quiet -o target/wheels
	$(VENV)/bin/python -m pytest tests
	./scripts/fuzz.sh $(FUZZ_SECONDS)

# The book: the API and report-format references rendered from openapi.yaml and the schema,
# mdBook into target/book, then every internal link and anchor checked, offline.
docs: deps
	$(PY) scripts/gen_api_reference.py
	$(PY) scripts/gen_report_reference.py
	mdbook build docs
	./scripts/check_links.sh target/book

# Fuzz the untrusted-input surfaces longer: make fuzz FUZZ_SECONDS=3600
fuzz:
	./scripts/fuzz.sh $(FUZZ_SECONDS)

rust-test:
	cargo test --workspace

# The receiver's integration suite against PostgreSQL (a throw-away cluster, tests/pg/up).
pg-test:
	ASSETKIT_TEST_DB=postgres cargo test -p assetkitd --test it

python-test:
	$(VENV)/bin/python -m pytest tests

# The API against openapi.yaml: spec validation, schemathesis, a generated client.
contract: build
	$(VENV)/bin/python -m pytest tests/test_contract.py

# The property-based contract run under seeds 1 to 10, 100 examples per operation (the default
# suite runs seeds 1, 7 and 10).
contract-seeds: build
	ASSETKIT_CONTRACT_SEEDS=1,2,3,4,5,6,7,8,9,10 $(VENV)/bin/python -m pytest tests/test_contract.py -k schemathesis

# openapi.yaml with the report schema inlined, for client generators.
openapi-bundle: deps
	$(PY) scripts/bundle_openapi.py > target/openapi.bundled.yaml
	@echo target/openapi.bundled.yaml

wheel-dev:
	$(VENV)/bin/maturin build --profile dev --quiet -o target/wheels

# A manylinux2014 abi3 wheel that installs on RHEL 8/9-era glibc (zig as the linker).
wheel: deps
	$(VENV)/bin/maturin build --release --zig --compatibility manylinux2014 -o target/wheels

# The agent (assetkit) and the receiver (assetkitd) as .deb and .rpm in target/packages, with
# their man pages and shell completions (generated from the clap definitions). Release builds by
# default; `make test` packages the dev build it has already made (PROFILE=dev), so CI compiles
# nothing twice.
PROFILE ?= release
PROFILE_DIR := $(if $(filter dev,$(PROFILE)),debug,$(PROFILE))
ASSETS := target/$(PROFILE_DIR)/assets
# Test packages are compressed fast (xz/zstd of a debug build takes minutes on CI).
FAST := $(filter dev,$(PROFILE))
packages:
	cargo build --profile $(PROFILE) -p assetkit-cli -p assetkitd
	rm -rf $(ASSETS)
	for bin in assetkit assetkitd; do \
	  target/$(PROFILE_DIR)/$$bin generate man --out $(ASSETS)/$$bin/man >/dev/null && \
	  target/$(PROFILE_DIR)/$$bin generate completions --out $(ASSETS)/$$bin/completions >/dev/null && \
	  gzip -9n $(ASSETS)/$$bin/man/*.1 || exit 1; \
	done
	rm -f target/packages/assetkit_*.deb target/packages/assetkitd_*.deb target/packages/assetkit-*.rpm target/packages/assetkitd-*.rpm
	cargo deb -p assetkit-cli --no-build --profile $(PROFILE) $(if $(FAST),--fast) --quiet -o target/packages/
	cargo deb -p assetkitd --no-build --profile $(PROFILE) $(if $(FAST),--fast) --quiet -o target/packages/
	cargo generate-rpm -p rust/assetkit-cli --profile $(PROFILE) $(if $(FAST),--payload-compress gzip) -o target/packages/
	cargo generate-rpm -p rust/assetkitd --profile $(PROFILE) $(if $(FAST),--payload-compress gzip) -o target/packages/

# Signed apt and yum repositories of target/packages in target/repo (scripts/repo.sh): with
# ASSETKIT_REPO_KEY (and GNUPGHOME) set, signed with that key; without, with a throw-away key.
repo:
	./scripts/repo.sh target/repo

bench:
	cargo build --release -p assetkit-bench -p assetkit-cli -p assetkitd
	target/release/assetkit-bench all

# Style, clippy (functions under 100 lines outside tests), and the house rules: no source file
# over 600 lines, no module importing one that imports it back.
lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	python3 scripts/house_rules.py

fmt:
	cargo fmt --all

clean:
	cargo clean
	rm -rf $(VENV) target
