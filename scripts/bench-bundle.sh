#!/usr/bin/env bash
# Builds a change with about 100 log entries and 20 MB of evidence (96 JUnit reports of about
# 210 KB, each attached to the change's artifact), then times `ward bundle export` and both
# verifiers on it. Usage: scripts/bench-bundle.sh [path/to/ward] (default target/release/ward).
# Figures go to BENCHMARKS.md ("Evidence bundles").
set -euo pipefail
WARD=${1:-target/release/ward}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export WARD_DATA_DIR=$TMP/d
unset WARD_SERVER WARD_TOKEN WARD_AS WARD_DATABASE_URL
"$WARD" init >/dev/null
printf '[controls.tiers.low]\nevidence = []\napprovals = 1\n[controls.tiers.medium]\nevidence = []\napprovals = 1\n[controls.tiers.high]\nevidence = []\napprovals = 1\n[[environments]]\nname = "staging"\n' >"$WARD_DATA_DIR/ward.toml"
for u in dana:developer quinn:approver rita:release-manager alex:auditor; do
  echo "${u%%:*}-correct-horse-battery" | "$WARD" user add --name "${u%%:*}" --display-name "${u%%:*} Bench" --role "${u##*:}" >/dev/null
done
D=sha256:$(printf 'be%.0s' $(seq 32))
"$WARD" artifact register --digest "$D" --service portal --version 9.9.9 >/dev/null
python3 - "$TMP" <<'PY'
import sys
tmp = sys.argv[1]
for n in range(96):
    cases = "".join(
        '<testcase classname="bench.suite%d" name="test_case_%d_%d" time="0.001"/>' % (n, n, i)
        for i in range(2600)
    )
    with open("%s/junit-%02d.xml" % (tmp, n), "w") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="bench%d" tests="2600" failures="0" errors="0" skipped="0">%s</testsuite></testsuites>' % (n, cases))
PY
for f in "$TMP"/junit-*.xml; do "$WARD" attest add --artifact "$D" --type junit "$f" >/dev/null; done
ID=$(WARD_PASSWORD=dana-correct-horse-battery "$WARD" --as dana change open --title "Bench change" --ticket https://t/1 --artifact "$D" --path README.md --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
WARD_PASSWORD=quinn-correct-horse-battery "$WARD" --as quinn approve --change "$ID" --meaning approved >/dev/null
WARD_PASSWORD=rita-correct-horse-battery "$WARD" --as rita promote --change "$ID" --to staging >/dev/null
du -sh "$TMP"/junit-*.xml | tail -1 >/dev/null
echo "evidence: $(cat "$TMP"/junit-*.xml | wc -c) bytes in 96 files"
for run in 1 2 3; do
  rm -f "$TMP/b.tar"
  "$WARD" --as alex bundle export --change "$ID" --out "$TMP/b.tar" --output json | python3 -c 'import json,sys; d=json.load(sys.stdin); print("export: %.3f s, %d bytes, %d entries" % (d["seconds"], d["bytes"], d["counts"]["entries"]))'
  "$WARD" verify bundle "$TMP/b.tar" --key "$WARD_DATA_DIR/log.pub" --output json | python3 -c 'import json,sys; d=json.load(sys.stdin); print("ward verify bundle: %.3f s" % d["seconds"])'
  /usr/bin/time -f "verify_bundle.py: %e s wall" python3 "$ROOT/tools/verify_bundle.py" "$TMP/b.tar" --key "$WARD_DATA_DIR/log.pub" >/dev/null
done
