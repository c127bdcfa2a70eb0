#!/usr/bin/env bash
# Runs pxe-pilot's fuzzers much longer than `cargo test` does, bounded in time.
#
# cargo-fuzz (libFuzzer) needs a nightly toolchain; these run on stable: the property-based
# targets of pxe-pilot-core/tests/core/fuzz.rs (MAC addresses, names, configuration files, deploy
# bodies, any links in the entry folder, any deploy request) and the mutation fuzzer of the
# real server (tests/api/reliability_input.rs: mutated HTTP requests, never a 5xx, nothing written
# outside the entries). Each target runs in rounds of PXE_PILOT_FUZZ_CASES cases, each round
# with fresh random inputs, until its share of the time is spent. A failing case is printed,
# shrunk to a minimal one, and saved by proptest under pxe-pilot-core/proptest-regressions/,
# so that `cargo test` replays it from then on.
#
#   scripts/fuzz.sh                          # 10 minutes in all
#   FUZZ_SECONDS=120 scripts/fuzz.sh
#   FUZZ_SECONDS=3600 PXE_PILOT_FUZZ_CASES=100000 scripts/fuzz.sh
#
# Exit status: 0 when no round failed, 1 when one did.
set -uo pipefail
cd "$(dirname "$0")/.."

cases="${PXE_PILOT_FUZZ_CASES:-20000}"
seconds="${FUZZ_SECONDS:-600}"
# target:divisor (fuzz.rs runs cases/divisor cases of the slower, file-system targets)
targets=(
  mac_parsing_never_panics_and_what_parses_prints_back:1
  names_never_panic_and_what_parses_is_one_path_component:1
  deploy_bodies_never_panic:1
  configuration_files_never_panic_and_errors_are_one_line:4
  any_deploy_request_writes_only_pxelinux_entries:8
  any_links_in_the_entry_folder_are_read_and_overwritten:8
)
http_target=mutated_requests_never_get_a_5xx_nor_write_outside_the_entries

# The core targets build with the optimised `bench` profile (thin LTO), so that more cases run
# in the time; the HTTP fuzzer drives the debug server binary `cargo test` builds. The test
# executables are run directly, so that the time is spent fuzzing, not waiting for cargo's
# lock on a target folder another build holds.
echo "== building"
executable() {  # cargo test arguments; prints the test executable it builds
  cargo test "$@" --no-run 2>&1 | tee /dev/stderr | sed -n 's/^ *Executable .*(\(.*\))$/\1/p' | tail -1
}
core_fuzz=$(executable --profile bench -p pxe-pilot-core --test core)
cargo build -p pxe-pilot-server || exit 1
http_fuzz=$(executable -p pxe-pilot --test api)
[ -x "$core_fuzz" ] && [ -x "$http_fuzz" ] || { echo "fuzz: build failed"; exit 1; }
core_fuzz=$(realpath "$core_fuzz"); http_fuzz=$(realpath "$http_fuzz")

deadline=$(( SECONDS + seconds ))
failed=()
total=$(( ${#targets[@]} + 1 ))
index=0
# fuzz NAME CASES_PER_ROUND COMMAND...: rounds until the target's share of the time is spent.
fuzz() {
  local name=$1 per_round=$2; shift 2
  index=$(( index + 1 ))
  local share=$(( (deadline - SECONDS) / (total - index + 1) ))
  [ "$share" -ge 5 ] || share=5
  local until=$(( SECONDS + share )) rounds=0 started=$SECONDS status=0
  while [ $(( until - SECONDS )) -ge 1 ]; do
    timeout --signal=INT --kill-after=10 $(( until - SECONDS )) "$@" >"/tmp/pxe-pilot-fuzz.$$" 2>&1
    status=$?
    case $status in
      0) rounds=$(( rounds + 1 )) ;;
      124|130|137) break ;;  # the time ran out in the middle of a round
      *) cat "/tmp/pxe-pilot-fuzz.$$"; failed+=("$name"); break ;;
    esac
  done
  rm -f "/tmp/pxe-pilot-fuzz.$$"
  echo "== $name: $rounds rounds of $per_round cases ($(( rounds * per_round )) cases) in $(( SECONDS - started ))s$([ "$status" -ne 0 ] && [ "$status" -ne 124 ] && [ "$status" -ne 130 ] && [ "$status" -ne 137 ] && echo ": FAILED")"
}
for entry in "${targets[@]}"; do
  target=${entry%%:*} divisor=${entry##*:}
  fuzz "$target" $(( cases / divisor )) \
    env -C pxe-pilot-core PXE_PILOT_FUZZ_CASES="$cases" "$core_fuzz" --exact "fuzz::$target"
done
http_cases=$(( cases / 10 > 300 ? cases / 10 : 300 ))
fuzz "$http_target (real server)" "$http_cases" \
  env PXE_PILOT_FUZZ_CASES="$http_cases" PXE_PILOT_LONG=1 "$http_fuzz" --exact "reliability_input::$http_target"

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}"
  exit 1
fi
echo "fuzz: no failure"
