#!/usr/bin/env bash
# table.sh RUN_DIR: joins the broker's request counters (RUN_DIR/broker-requests.csv, written by
# BrokerRequests.java) with the steps of ../shared/peers/pipeline/run.sh (RUN_DIR/results.jsonl) and
# prints, per pipeline and step, the broker requests per accepted webhook by API key.
#
# Windows (results.jsonl has period_s but no absolute start time):
#   - a step ends when run.sh writes <pipeline>.<step>.watch.json (its mtime) and starts period_s
#     earlier: the same window run.sh bills CPU to (load start to drain end);
#   - the idle phase ends at the mtime of idle.json and lasts IDLE_S seconds (env, default 10, as run.sh).
# Counters are cumulative; the value at a window edge is interpolated linearly between the two samples
# around it, and a meter absent from a sample (no request of that key yet) counts 0.
#
# Rows: "gross" = every request the broker served in the window / 2xx webhooks. It includes the idle
# traffic of every client up at the time (the other pipeline when both run, the broker's own
# BrokerHeartbeat to its controller) and the harness's drain watch (pipestat: ListOffsets every 100 ms
# after the load). "net" subtracts the idle rate x the window length. FetchConsumer/FetchFollower are
# subsets of Fetch and are not added again.
set -euo pipefail
R=${1:?usage: table.sh RUN_DIR}
IDLE_S=${IDLE_S:-10}
CSV=$R/broker-requests.csv
[ -s "$CSV" ] || { echo "table.sh: no samples in $CSV" >&2; exit 1; }
[ -s "$R/results.jsonl" ] || { echo "table.sh: no steps in $R/results.jsonl" >&2; exit 1; }

# windows: kind pipeline step ok start end
windows() {
  local p step ok period tag end
  while IFS=$'\t' read -r p step ok period; do
    tag="$R/$p.${step//\//}"
    [ -f "$tag.watch.json" ] || { echo "table.sh: $tag.watch.json missing: step skipped" >&2; continue; }
    end=$(stat -c %.3Y "$tag.watch.json")
    awk -v p="$p" -v s="$step" -v ok="$ok" -v e="$end" -v d="$period" \
      'BEGIN{printf "step\t%s\t%s\t%s\t%.3f\t%.3f\n", p, s, ok, e - d, e}'
  done < <(jq -r '[.pipeline, .step, .ok, .period_s] | @tsv' "$R/results.jsonl")
  if [ "$IDLE_S" -gt 0 ] && [ -s "$R/idle.json" ]; then
    end=$(stat -c %.3Y "$R/idle.json")
    awk -v e="$end" -v d="$IDLE_S" 'BEGIN{printf "idle\t-\tidle\t0\t%.3f\t%.3f\n", e - d, e}'
  fi
}

windows | awk -F'\t' -v csv="$CSV" '
function val(m, t,   i, a, b) {   # cumulative count of m at time t, interpolated
  if (t <= T[1]) return C[m, 1] + 0
  if (t >= T[n]) return C[m, n] + 0
  for (i = 2; i <= n; i++) if (T[i] >= t) break
  a = C[m, i - 1] + 0; b = C[m, i] + 0
  return a + (b - a) * (t - T[i - 1]) / (T[i] - T[i - 1])
}
function delta(m, w) { return val(m, E[w]) - val(m, S[w]) }
BEGIN {
  ncol = split("Produce Fetch OffsetCommit Heartbeat Metadata ListOffsets FindCoordinator JoinGroup SyncGroup ApiVersions", COL, " ")
  for (i = 1; i <= ncol; i++) named[COL[i]] = 1
  named["FetchConsumer"] = named["FetchFollower"] = named["BytesIn"] = named["BytesOut"] = 1
  while ((getline line < csv) > 0) {
    if (line ~ /^ts,/) continue
    split(line, f, ",")
    if (f[1] != last) { n++; T[n] = f[1] + 0; last = f[1] }
    C[f[2], n] = f[3]; M[f[2]] = 1
    if (f[2] ~ /^(LocalUs|BytesOut):/) named[f[2]] = 1   # handler time and bytes per topic: own tables
  }
  if (n < 2) { print "table.sh: fewer than 2 samples in " csv > "/dev/stderr"; exit 1 }
}
{ nw++; K[nw] = $1; P[nw] = $2; ST[nw] = $3; OK[nw] = $4 + 0; S[nw] = $5 + 0; E[nw] = $6 + 0
  if ($1 == "idle") idle = nw
  if (S[nw] < T[1] || E[nw] > T[n]) warn = warn sprintf("  window %s %s [%.1f, %.1f] is outside the samples [%.1f, %.1f]\n", $2, $3, S[nw], E[nw], T[1], T[n])
}
function z(x) { return (x > -0.0005 && x < 0.0005) ? 0 : x }   # no "-0.000"
function others(w,   m, s) { s = 0; for (m in M) if (!(m in named)) s += delta(m, w); return s }
function header(what,   i) {
  printf "%-12s %-8s %6s", "pipeline", "step", what
  for (i = 1; i <= ncol; i++) printf " %*s", (length(COL[i]) > 7 ? length(COL[i]) : 7), COL[i]
  printf " %7s %7s %9s %9s\n", "others", "total", "bytes_in", "bytes_out"
}
# row: per accepted webhook, minus rate x window when net (rate from the idle window)
function row(w, net,   i, x, tot, base, o) {
  printf "%-12s %-8s %6d", P[w], ST[w], OK[w]
  tot = 0
  for (i = 1; i <= ncol; i++) {
    base = net ? delta(COL[i], idle) / (E[idle] - S[idle]) * (E[w] - S[w]) : 0
    x = z((delta(COL[i], w) - base) / OK[w]); tot += x
    printf " %*.3f", (length(COL[i]) > 7 ? length(COL[i]) : 7), x
  }
  base = net ? others(idle) / (E[idle] - S[idle]) * (E[w] - S[w]) : 0
  o = z((others(w) - base) / OK[w]); tot += o
  printf " %7.3f %7.3f %9.0f %9.0f\n", o, tot, delta("BytesIn", w) / OK[w], delta("BytesOut", w) / OK[w]
}
END {
  if (n < 2) exit 1
  printf "broker requests per accepted webhook, by API key (Kafka JMX RequestsPerSec counts; bytes_in/out: all-topics bytes per webhook)\n"
  printf "gross: every request in the step window (load start to drain end) / 2xx webhooks\n"
  header("2xx")
  for (w = 1; w <= nw; w++) if (K[w] == "step" && OK[w] > 0) row(w, 0)
  if (idle) {
    printf "\nnet of idle: (requests in the window - idle rate x window length) / 2xx webhooks\n"
    header("2xx")
    for (w = 1; w <= nw; w++) if (K[w] == "step" && OK[w] > 0) row(w, 1)
    d = E[idle] - S[idle]
    printf "\nidle rate, requests/s, run.sh idle phase (%.0f s, every started pipeline up, no load):", d
    tot = 0
    for (i = 1; i <= ncol; i++) { x = delta(COL[i], idle) / d; tot += x; if (x > 0) printf " %s %.2f", COL[i], x }
    x = others(idle) / d; tot += x
    printf " others %.2f; total %.2f\n", x, tot
  } else printf "\nno idle window (IDLE_S=0 or no idle.json): net rows not printed\n"
  printf "others, per webhook (gross):"
  for (w = 1; w <= nw; w++) if (K[w] == "step" && OK[w] > 0) {
    printf " [%s %s]", P[w], ST[w]
    for (m in M) if (!(m in named) && delta(m, w) > 0) printf " %s %.3f", m, delta(m, w) / OK[w]
  }
  printf "\n"
  if (idle) {
    printf "others, idle rate /s:"
    for (m in M) if (!(m in named) && delta(m, idle) > 0) printf " %s %.2f", m, delta(m, idle) / (E[idle] - S[idle])
    printf "\n"
  }
  handler = 0
  for (m in M) if (m ~ /^LocalUs:/) handler = 1
  if (handler) {   # samplers since the LocalTimeMs column was added
    printf "\nbroker request-handler time per accepted webhook, us (JMX LocalTimeMs Count x Mean, gross):\n"
    printf "%-12s %-8s %9s %9s %9s %9s\n", "pipeline", "step", "Produce", "Fetch", "others", "total"
    for (w = 1; w <= nw; w++) if (K[w] == "step" && OK[w] > 0) {
      pr = delta("LocalUs:Produce", w) / OK[w]; fe = delta("LocalUs:Fetch", w) / OK[w]; ot = 0
      for (m in M) if (m ~ /^LocalUs:/ && m != "LocalUs:Produce" && m != "LocalUs:Fetch" && m != "LocalUs:FetchConsumer" && m != "LocalUs:FetchFollower") ot += delta(m, w) / OK[w]
      printf "%-12s %-8s %9.1f %9.1f %9.1f %9.1f\n", P[w], ST[w], pr, fe, ot, pr + fe + ot
    }
  }
  printf "\nbytes out per accepted webhook, by topic (JMX BytesOutPerSec, gross):"
  for (w = 1; w <= nw; w++) if (K[w] == "step" && OK[w] > 0) {
    printf "\n  [%s %s]", P[w], ST[w]
    for (m in M) if (m ~ /^BytesOut:/ && delta(m, w) / OK[w] >= 1) printf " %s %.0f", substr(m, 10), delta(m, w) / OK[w]
  }
  printf "\n"
  if (warn != "") printf "WARNING: extrapolated at the edges:\n%s", warn
}'
