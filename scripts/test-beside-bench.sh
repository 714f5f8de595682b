#!/usr/bin/env bash
# `npm test` several times in a row (default 3) while `npm run bench` runs beside it in a loop: the suite on a loaded
# machine, as issue 19 asks of it. Prints one line per test run and exits 1 if any failed. Logs and the runner's JSON
# reports go to test-results/beside-bench/. Builds once first, so the bench never rewrites dist/ under the tests.
#
#   npm run test:beside-bench            # three runs
#   BESIDE_BENCH_RUNS=1 npm run test:beside-bench
set -uo pipefail
cd "$(dirname "$0")/.."
out=test-results/beside-bench
rm -rf "$out" && mkdir -p "$out"
runs=${BESIDE_BENCH_RUNS:-3}
load() { cut -d' ' -f1-3 /proc/loadavg; }

npm run build > "$out/build.log" 2>&1 || { echo "build failed: see $out/build.log"; exit 1; }

# The bench loop: one full bench after another until told to stop; the bench stops its dev server on SIGINT.
(
  n=0
  while [ ! -e "$out/stop" ]; do
    n=$((n + 1))
    node --import tsx bench/run.ts > "$out/bench-$n.log" 2>&1 &
    echo $! > "$out/bench.pid"
    wait $!
    echo "bench $n exited $? at $(date -u +%T)" >> "$out/bench.txt"
  done
) &
loop=$!
# Let the bench start its server and first section before the tests begin.
until grep -q "section" "$out/bench-1.log" 2>/dev/null || grep -q exited "$out/bench.txt" 2>/dev/null; do sleep 2; done

failed=0
for i in $(seq 1 "$runs"); do
  start=$(date +%s)
  before=$(load)
  npm test -- --reporter=default --reporter=json --outputFile.json="$out/run-$i.json" > "$out/test-$i.log" 2>&1
  code=$?
  summary=$(node scripts/test-summary.mjs "$out/run-$i.json" 2>/dev/null | tail -1)
  echo "test run $i: exit $code, ${summary:-no report}, $(( ($(date +%s) - start) / 60 )) min, load $before -> $(load)"
  [ "$code" = 0 ] || failed=1
done

touch "$out/stop"
[ -s "$out/bench.pid" ] && kill -INT "$(cat "$out/bench.pid")" 2>/dev/null
wait "$loop"
echo "bench runs beside the tests: $(grep -c exited "$out/bench.txt" 2>/dev/null || echo 0) (logs in $out/)"
exit $failed
