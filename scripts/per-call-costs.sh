#!/usr/bin/env bash
# Instructions (callgrind) and heap allocations (DHAT) per call of `erpc bench`, on each side
# separately: one side runs under valgrind, the other natively, for two run lengths; the
# difference divided by the difference in calls is the cost of one call, without the setup.
#
#   cargo build --release -p erpc-cli --all-features
#   scripts/per-call-costs.sh                      # Go's workload, tokio, 100 callers
#   RUNTIME=blocking PAYLOAD=bytes scripts/per-call-costs.sh
#
# Environment: ERPC (binary, default target/release/erpc), RUNTIME (tokio), PAYLOAD (proto),
# C (100 callers), N1/N2 (2000/12000 calls), PORT (9190). Needs valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
ERPC=${ERPC:-target/release/erpc}
RUNTIME=${RUNTIME:-tokio}
PAYLOAD=${PAYLOAD:-proto}
C=${C:-100}
N1=${N1:-2000}
N2=${N2:-12000}
PORT=${PORT:-9190}
ADDR=127.0.0.1:$PORT
LOG=$(mktemp -d)
trap 'rm -rf "$LOG"' EXIT

command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install -y valgrind)" >&2; exit 1; }

# The figure valgrind's `tool` printed in `file`: callgrind's instructions, DHAT's blocks.
figure() {
    local tool=$1 file=$2
    case $tool in
        callgrind) sed -nE 's/.*Collected : ([0-9]+).*/\1/p' "$file" | tail -1 ;;
        dhat) sed -nE 's/.*Total: +[0-9,]+ bytes in ([0-9,]+) blocks.*/\1/p' "$file" | tr -d , ;;
    esac
}

tool_args() {
    case $1 in
        callgrind) echo "--tool=callgrind --callgrind-out-file=/dev/null" ;;
        dhat) echo "--tool=dhat --dhat-out-file=/dev/null" ;;
    esac
}

wait_listening() {
    for _ in $(seq 1 300); do
        grep -q "listening on" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "server did not start: $(cat "$1")" >&2
    exit 1
}

client() {
    "$ERPC" bench --addr "$ADDR" --runtime "$RUNTIME" --payload "$PAYLOAD" -c "$C" -n "$1" >/dev/null 2>&1
}

# The server under valgrind, a native client making `n` calls.
server_side() {
    local tool=$1 n=$2 out=$LOG/server-$1-$2
    # shellcheck disable=SC2046
    valgrind $(tool_args "$tool") "$ERPC" bench-server --addr "$ADDR" --runtime "$RUNTIME" >"$out" 2>&1 &
    local pid=$!
    wait_listening "$out"
    client "$n"
    kill -TERM "$pid"
    wait "$pid" || true
    figure "$tool" "$out"
}

# A native server, the client under valgrind making `n` calls.
client_side() {
    local tool=$1 n=$2 out=$LOG/client-$1-$2 srv=$LOG/server-native
    "$ERPC" bench-server --addr "$ADDR" --runtime "$RUNTIME" >"$srv" 2>&1 &
    local pid=$!
    wait_listening "$srv"
    # shellcheck disable=SC2046
    valgrind $(tool_args "$tool") "$ERPC" bench --addr "$ADDR" --runtime "$RUNTIME" \
        --payload "$PAYLOAD" -c "$C" -n "$n" >"$out" 2>&1
    kill -TERM "$pid"
    wait "$pid" || true
    figure "$tool" "$out"
}

echo "runtime=$RUNTIME payload=$PAYLOAD c=$C, per call from $N1 and $N2 calls"
for side in server client; do
    for tool in callgrind dhat; do
        a=$("${side}_side" "$tool" "$N1")
        b=$("${side}_side" "$tool" "$N2")
        what=$([ "$tool" = callgrind ] && echo "instructions" || echo "allocations")
        awk -v a="$a" -v b="$b" -v d=$((N2 - N1)) -v s="$side" -v w="$what" \
            'BEGIN { printf "%-6s %-12s %10.1f per call\n", s, w, (b - a) / d }'
    done
done
