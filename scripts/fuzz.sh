#!/usr/bin/env bash
# Runs pxe-pilot's fuzzers much longer than `cargo test` does, bounded in time.
#
# cargo-fuzz (libFuzzer) needs a nightly toolchain; these run on stable: the property-based
# targets of pxe-pilot-core/tests/fuzz.rs (MAC addresses, names, configuration files, deploy
# bodies, any links in the entry folder, any deploy request) and the mutation fuzzer of the
# real server (tests/reliability_input.rs: mutated HTTP requests, never a 5xx, nothing written
# outside the entries). A failing case is printed, shrunk, and saved by proptest under
# pxe-pilot-core/proptest-regressions/ so that `cargo test` replays it from then on.
#
#   scripts/fuzz.sh                  # 200 000 cases per target, at most 10 minutes in all
#   FUZZ_SECONDS=120 scripts/fuzz.sh
#   PXE_PILOT_FUZZ_CASES=1000000 FUZZ_SECONDS=3600 scripts/fuzz.sh
#
# Exit status: 0 when no target failed (a target stopped by the time limit found nothing in
# that time), 1 when one failed.
set -uo pipefail
cd "$(dirname "$0")/.."

cases="${PXE_PILOT_FUZZ_CASES:-200000}"
seconds="${FUZZ_SECONDS:-600}"
targets=(
  mac_parsing_never_panics_and_what_parses_prints_back
  names_never_panic_and_what_parses_is_one_path_component
  deploy_bodies_never_panic
  configuration_files_never_panic_and_errors_are_one_line
  any_deploy_request_writes_only_pxelinux_entries
  any_links_in_the_entry_folder_are_read_and_overwritten
)
# The HTTP fuzzer sends one request per case to a real server: fewer cases.
http_cases=$(( cases / 100 > 300 ? cases / 100 : 300 ))

# The core targets build with the optimised `bench` profile (thin LTO), so that more cases run
# in the time; the HTTP fuzzer drives the debug server binary `cargo test` builds.
echo "== building"
cargo test --profile bench -p pxe-pilot-core --test fuzz --no-run || exit 1
cargo build -p pxe-pilot-server || exit 1
cargo test -p pxe-pilot --test reliability_input --no-run || exit 1

share=$(( seconds / (${#targets[@]} + 1) ))
[ "$share" -ge 10 ] || share=10
failed=()
run() {  # name, then the command
  local name=$1; shift
  local started=$SECONDS
  timeout --signal=INT --kill-after=10 "$share" "$@"
  local status=$?
  local took=$(( SECONDS - started ))
  case $status in
    0) echo "== $name: passed in ${took}s" ;;
    124|130|137) echo "== $name: stopped after ${took}s (time limit), nothing found" ;;
    *) echo "== $name: FAILED (exit $status)"; failed+=("$name") ;;
  esac
}
for target in "${targets[@]}"; do
  echo "== $target: up to $cases cases, at most ${share}s"
  run "$target" env PXE_PILOT_FUZZ_CASES="$cases" \
    cargo test --profile bench -q -p pxe-pilot-core --test fuzz -- --exact "$target" --nocapture
done
echo "== mutated HTTP requests against the server: up to $http_cases, at most ${share}s"
run http env PXE_PILOT_FUZZ_CASES="$http_cases" PXE_PILOT_LONG=1 \
  cargo test -q -p pxe-pilot --test reliability_input -- --exact \
  mutated_requests_never_get_a_5xx_nor_write_outside_the_entries --nocapture

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}"
  exit 1
fi
echo "fuzz: no failure"
