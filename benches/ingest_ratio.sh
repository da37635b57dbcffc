#!/usr/bin/env bash
# The ingest ratio: how many lines per second `logdrain serve` commits, next to how many the
# same Postgres takes from a plain binary COPY of the very same lines into a reference table:
#   ts timestamptz, severity smallint, source text, proc text, kind text, message text,
#   fields jsonb, with a B-tree on (ts) and one on (kind, ts)
# (a one-row-per-line log table with the two indexes any such table needs).
#
#   benches/ingest_ratio.sh                      # 1,000,000 lines over 8 connections
#   LINES=500000 CONNECTIONS=8 benches/ingest_ratio.sh
#   DATABASE_URL=postgres://… benches/ingest_ratio.sh
#   LOGDRAIN_BIN=/path/to/logdrain benches/ingest_ratio.sh   # another build, e.g. for an A/B
#
# Steps: build the release server and the load driver (benches/load.rs); start the server on
# 127.0.0.1:18080, with a fresh private PostgreSQL cluster in a temporary directory unless
# DATABASE_URL is set; wait for /readyz; send one frame so the server creates the app "bench";
# run the driver (which watches the server's memory and writes the same lines as a COPY file of
# the reference table); time `psql \copy copy_reference (…) FROM file WITH (FORMAT binary)`
# into that table, freshly created in the same database, on one connection and on two at once;
# then run the driver again paced at 80% of the faster COPY rate and report
# its latencies; print both rates, their ratio, and the paced p50/p99 and peak RSS.
# The server is stopped with SIGTERM (it stops its private cluster itself) and the temporary
# directory is removed on exit.
#
# With DATABASE_URL, the rows stay in that database (app "bench"); the frame ids differ on
# every run, so runs add up rather than collide.
set -euo pipefail

LINES=${LINES:-1000000}
CONNECTIONS=${CONNECTIONS:-8}
LISTEN=127.0.0.1:18080
TOKEN=bench-token-0123456789
APP=bench

cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*" >&2; }

# A number field of a one-line JSON object.
json_number() { sed -n "s/.*\"$1\":\(-\{0,1\}[0-9][0-9.eE+-]*\).*/\1/p"; }

step "building (release)"
cargo build --release --bin logdrain
# The bench profile is the release profile; --no-run says where the driver's executable is.
driver=$(cargo bench --bench load --no-run --message-format=json |
    grep '"kind":\["bench"\].*"name":"load"' |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
if [ -z "$driver" ] || [ ! -x "$driver" ]; then
    echo "ingest_ratio: could not find the load bench executable" >&2
    exit 1
fi

tmp=$(mktemp -d)
server_pid=
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The private cluster runs as an unprivileged user when we are root; it must reach its data
# directory (and may put its socket) under $tmp.
chmod 0755 "$tmp"
if [ "$(id -u)" = 0 ]; then
    chown "${LOGDRAIN_PG_USER:-postgres}" "$tmp"
fi

psql_bin=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$psql_bin" ]; then
    echo "ingest_ratio: psql not found (install postgresql-client)" >&2
    exit 1
fi

step "starting logdrain serve on $LISTEN"
if [ -n "${DATABASE_URL:-}" ]; then
    echo "database: DATABASE_URL" >&2
else
    export LOGDRAIN_PG_DATA="$tmp/pgdata"
    echo "database: private cluster in $LOGDRAIN_PG_DATA" >&2
fi
LOGDRAIN_LISTEN=$LISTEN LOGDRAIN_DRAIN_TOKEN=$TOKEN RUST_LOG=warn \
    "${LOGDRAIN_BIN:-${CARGO_TARGET_DIR:-target}/release/logdrain}" serve >"$tmp/server.log" 2>&1 &
server_pid=$!

for _ in $(seq 600); do
    if curl -fsS "http://$LISTEN/readyz" >/dev/null 2>&1; then
        break
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "ingest_ratio: the server exited; its log:" >&2
        cat "$tmp/server.log" >&2
        exit 1
    fi
    sleep 0.1
done
curl -fsS "http://$LISTEN/readyz" >/dev/null

# How psql reaches the server's database.
if [ -n "${DATABASE_URL:-}" ]; then
    psql_args=("$DATABASE_URL")
else
    # The socket directory is line 5 of postmaster.pid, wherever the cluster chose to put it.
    socket_dir=$(sed -n 5p "$LOGDRAIN_PG_DATA/postmaster.pid")
    psql_args=(-h "$socket_dir" -p 5432 -U postgres -d postgres)
fi
sql() { "$psql_bin" "${psql_args[@]}" -X -q -t -A -v ON_ERROR_STOP=1 "$@"; }

# One line, so that the server creates the app and we learn its id.
warmup='<190>1 2026-11-01T10:00:00.000000+00:00 host app web.1 - ingest ratio warm-up'
curl -fsS -u "$APP:$TOKEN" -H 'Content-Type: application/logplex-1' \
    -H 'Logplex-Msg-Count: 1' --data-binary "${#warmup} $warmup" "http://$LISTEN/logs"
app_id=$(sql -c "select id from apps where name = '$APP'")
lines_before=$(sql -c "select count(*) from lines where app_id = $app_id")

step "load: $LINES lines over $CONNECTIONS connections"
"$driver" --url "http://$LISTEN" --app "$APP" --token "$TOKEN" --lines "$LINES" \
    --connections "$CONNECTIONS" --server-pid "$server_pid" \
    --copy-file "$tmp/lines.copy" | tee "$tmp/load.out"
summary=$(grep '^{' "$tmp/load.out" | tail -n 1)
lines_after=$(sql -c "select count(*) from lines where app_id = $app_id")

step "COPY of the same lines into the reference table"
columns=$("$driver" --print-copy-columns)
reference() {
    sql -c "DROP TABLE IF EXISTS copy_reference" \
        -c "CREATE TABLE copy_reference (ts timestamptz, severity smallint, source text, proc text, kind text, message text, fields jsonb)" \
        -c "CREATE INDEX ON copy_reference (ts)" \
        -c "CREATE INDEX ON copy_reference (kind, ts)"
}
reference
# Start COPY, like the server, without the previous run's dirty pages and WAL still to flush
# (needs a superuser; skipped quietly without one).
sql -c 'CHECKPOINT' 2>/dev/null || true
copy_start=$(date +%s.%N)
sql -c "\\copy copy_reference ($columns) FROM '$tmp/lines.copy' WITH (FORMAT binary)"
copy_end=$(date +%s.%N)
reference

# One app is written by LOGDRAIN_WRITERS - 1 (2) connections at once; the same COPY on two
# connections at once (each loading the whole file) is the parallel baseline.
sql -c 'CHECKPOINT' 2>/dev/null || true
copy2_start=$(date +%s.%N)
sql -c "\\copy copy_reference ($columns) FROM '$tmp/lines.copy' WITH (FORMAT binary)" &
copy2_pid=$!
sql -c "\\copy copy_reference ($columns) FROM '$tmp/lines.copy' WITH (FORMAT binary)"
wait "$copy2_pid"
copy2_end=$(date +%s.%N)
sql -c "DROP TABLE copy_reference"

copy_rate=$(awk -v a="$copy_start" -v b="$copy_end" -v c="$copy2_start" -v d="$copy2_end" \
    -v rows="$(json_number copy_rows <<<"$summary")" \
    'BEGIN { one = rows / (b - a); two = 2 * rows / (d - c); printf "%.0f", (one > two ? one : two) }')
# 80% of the faster of the two COPY baselines.
paced_rate=$(awk -v c="$copy_rate" 'BEGIN { printf "%.0f", c * 0.8 }')

step "paced: $LINES lines at $paced_rate lines/s (80% of the faster COPY rate)"
"$driver" --url "http://$LISTEN" --app "$APP" --token "$TOKEN" --lines "$LINES" \
    --connections "$CONNECTIONS" --server-pid "$server_pid" --rate "$paced_rate" \
    --seed 7 | tee "$tmp/paced.out"
paced=$(grep '^{' "$tmp/paced.out" | tail -n 1)
paced_p50=$(json_number p50_ms <<<"$paced")
paced_p99=$(json_number p99_ms <<<"$paced")
paced_achieved=$(json_number lines_per_s <<<"$paced")
paced_rss=$(json_number peak_rss_mb <<<"$paced")

server_rate=$(json_number lines_per_s <<<"$summary")
acked=$(json_number lines_acked <<<"$summary")
copy_rows=$(json_number copy_rows <<<"$summary")
p50=$(json_number p50_ms <<<"$summary")
p99=$(json_number p99_ms <<<"$summary")
rss=$(json_number peak_rss_mb <<<"$summary")
hwm=$(json_number vm_hwm_mb <<<"$summary")
failed=$(json_number failed_frames <<<"$summary")
unavailable=$(json_number status_503 <<<"$summary")

awk -v s="$server_rate" -v a="$copy_start" -v b="$copy_end" -v rows="$copy_rows" \
    -v p50="$p50" -v p99="$p99" -v rss="$rss" -v hwm="$hwm" -v stored=$((lines_after - lines_before)) \
    -v acked="$acked" -v failed="$failed" -v u503="$unavailable" -v lines="$LINES" -v conns="$CONNECTIONS" \
    -v c2a="$copy2_start" -v c2b="$copy2_end" -v pr="$paced_rate" -v pa="$paced_achieved" -v pp50="$paced_p50" -v pp99="$paced_p99" -v prss="$paced_rss" '
BEGIN {
    copy = rows / (b - a)
    printf "\n== ingest ratio (%d lines, %d connections)\n", lines, conns
    printf "server    %10.0f lines/s  (%d acknowledged, %d stored, %d × 503, %d frames failed)\n", s, acked, stored, u503, failed
    printf "COPY      %10.0f lines/s  (%d rows in %.2f s)\n", copy, rows, b - a
    copy2 = 2 * rows / (c2b - c2a)
    printf "COPY ×2   %10.0f lines/s  (two connections at once, each the same %d rows, in %.2f s)\n", copy2, rows, c2b - c2a
    printf "ratio     %10.2f          (server / COPY)\n", s / copy
    printf "ratio ×2  %10.2f          (server / COPY on two connections)\n", s / copy2
    printf "latency   p50 %.1f ms, p99 %.1f ms\n", p50, p99
    printf "memory    peak RSS %.1f MB (VmHWM %.1f MB)\n", rss, hwm
    printf "at 80%%    %10.0f lines/s asked, %.0f achieved: p50 %.1f ms, p99 %.1f ms, peak RSS %.1f MB\n", pr, pa, pp50, pp99, prss
}'
