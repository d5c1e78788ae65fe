#!/usr/bin/env bash
# Runs every fuzz target (ward-ledger and ward-evidence) for N seconds each (default 20) and exits non-zero if any
# target crashes (panic, failed invariant, sanitizer report, timeout or OOM).
#
#   scripts/fuzz-smoke.sh            # 20 s per target
#   scripts/fuzz-smoke.sh 60         # 60 s per target
#   scripts/fuzz-smoke.sh 10 note    # only the named targets
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). A stable toolchain works through RUSTC_BOOTSTRAP=1
# (cargo-fuzz passes -Z flags to rustc). Crashing inputs are written to fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

secs="${1:-20}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(checkpoint note proof junit sarif cyclonedx spdx vulns intoto custom guard)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed: run 'cargo install cargo-fuzz'" >&2
    exit 2
fi

export RUSTC_BOOTSTRAP="${RUSTC_BOOTSTRAP:-1}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

failed=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    echo "=== fuzz target '$t' for ${secs}s"
    # corpus/<t> collects new inputs (git-ignored); seeds/<t> is the checked-in starting corpus.
    # -timeout: an input that takes longer than 10 s is a crash (a slow input), not a pause.
    if cargo fuzz run "$t" "corpus/$t" "seeds/$t" -- -max_total_time="$secs" -timeout=10 -print_final_stats=1; then
        echo "=== '$t': no crash"
    else
        echo "=== '$t': CRASH (see fuzz/artifacts/$t/)" >&2
        failed+=("$t")
    fi
done

if [ ${#failed[@]} -ne 0 ]; then
    echo "fuzz targets with crashes: ${failed[*]}" >&2
    exit 1
fi
echo "all fuzz targets ran ${secs}s without a crash"
