#!/usr/bin/env bash
# Fuzzes the untrusted-input surfaces with libFuzzer (cargo fuzz, stable toolchain, no
# sanitizer: the code under test forbids `unsafe`, so coverage and assertions are what count):
# the four receiving surfaces, then the six package database readers.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   default 60
# Each package reader runs a third of that (PACKAGE_FUZZ_SECONDS overrides): six small parsers
# whose seed corpora reach their code in seconds, so at the default the step grows by two
# minutes, not six.
# The committed corpus (fuzz/corpus/<target>) seeds each run and is only read; what a run finds
# goes to target/fuzz-corpus/<target>. To fold it back: cargo fuzz cmin -s none <target>.
# A crash, a timeout or an out-of-memory leaves its input in fuzz/artifacts/<target>/ and fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
package_seconds=${PACKAGE_FUZZ_SECONDS:-$(((seconds + 2) / 3))}
targets=(report_intake signed_request import_reader snapshot_stream)
package_targets=(packages_dpkg packages_apk packages_rpm_header packages_rpm_bdb packages_rpm_ndb packages_rpm_sqlite)
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: cargo install cargo-fuzz (once)" >&2
  cargo install --locked -q cargo-fuzz@0.13.2
fi
cargo fuzz build -s none -a
run() {
  local t=$1 seconds=$2
  echo "fuzz: $t for ${seconds}s" >&2
  mkdir -p "target/fuzz-corpus/$t"
  cargo fuzz run -s none -a "$t" "target/fuzz-corpus/$t" "fuzz/corpus/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=262144 -print_final_stats=1 2>&1 \
    | grep -E '^(stat::number_of_executed_units|stat::new_units_added|INFO: Running|==[0-9]+== ERROR|SUMMARY|Done)' || true
  if compgen -G "fuzz/artifacts/$t/*-*" >/dev/null; then
    echo "fuzz: $t crashed; inputs in fuzz/artifacts/$t/" >&2
    exit 1
  fi
}
for t in "${targets[@]}"; do
  run "$t" "$seconds"
done
for t in "${package_targets[@]}"; do
  run "$t" "$package_seconds"
done
