#!/usr/bin/env bash
# table_test.sh: checks table.sh's arithmetic on a synthetic run dir whose answers are known.
#
# Samples every 2 s from t=1000 to 1020. Produce runs at 2/s, plus 100/s between 1010 and 1016; Fetch
# at 10/s (FetchConsumer, the same requests, must not be counted again); DescribeGroups appears at 1012
# (10 requests since 1010, then 5/s); BytesIn 1000 B/s. The step "courierhook 500/s" has 200 webhooks
# and ends at 1015 after 4 s (window [1011, 1015], edges between samples: interpolated). The idle
# phase (IDLE_S=4) ends at 1005.
# Expected per webhook: gross Produce (4*2 + 4*100)/200 = 2.040, net (408 - 4*2)/200 = 2.000;
# Fetch gross 40/200 = 0.200, net 0.000; others (DescribeGroups, interpolated 5 at 1011, 25 at 1015)
# 20/200 = 0.100 both; totals 2.340 and 2.100; BytesIn 4000/200 = 20.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
D=$(mktemp -d); trap 'rm -rf "$D"' EXIT

{ echo "ts,metric,count"
  for t in $(seq 1000 2 1020); do
    awk -v t="$t" 'function clamp(x, lo, hi) { return x < lo ? lo : (x > hi ? hi : x) }
    BEGIN {
      ts = sprintf("%d.000", t)
      printf "%s,Produce,%d\n", ts, 2 * (t - 1000) + 100 * clamp(t - 1010, 0, 6)
      printf "%s,Fetch,%d\n%s,FetchConsumer,%d\n", ts, 10 * (t - 1000), ts, 10 * (t - 1000)
      if (t >= 1012) printf "%s,DescribeGroups,%d\n", ts, 10 + 5 * (t - 1012)
      printf "%s,BytesIn,%d\n", ts, 1000 * (t - 1000)
    }'
  done; } > "$D/broker-requests.csv"
echo '{"pipeline":"courierhook","step":"500/s","ok":200,"period_s":4}' > "$D/results.jsonl"
echo '{}' > "$D/courierhook.500s.watch.json"; touch -d @1015 "$D/courierhook.500s.watch.json"
echo '{}' > "$D/idle.json"; touch -d @1005 "$D/idle.json"

out=$(IDLE_S=4 "$HERE/table.sh" "$D")
fail=0
check() {  # section(gross|net) column expected
  local got
  got=$(awk -v sec="$1" -v col="$2" '
    /^gross:/ { s = "gross" } /^net of idle:/ { s = "net" }
    $1 == "pipeline" { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
    $1 == "courierhook" && s == sec { print $c }' <<< "$out")
  if [ "$got" != "$3" ]; then echo "FAIL: $1 $2 = '$got', want $3"; fail=1; fi
}
check gross Produce 2.040; check net Produce 2.000
check gross Fetch 0.200; check net Fetch 0.000
check gross others 0.100; check net others 0.100
check gross total 2.340; check net total 2.100
check gross bytes_in 20
grep -q 'idle rate, requests/s.*Produce 2.00 Fetch 10.00 others 0.00; total 12.00' <<< "$out" \
  || { echo "FAIL: idle rate line"; fail=1; }
grep -q 'courierhook 500/s\] DescribeGroups 0.100' <<< "$out" || { echo "FAIL: others detail"; fail=1; }
if grep -q FetchConsumer <<< "$out"; then echo "FAIL: FetchConsumer counted as another key"; fail=1; fi
if [ "$fail" != 0 ]; then echo "$out"; exit 1; fi
echo "ok: table.sh"
