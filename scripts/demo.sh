#!/usr/bin/env bash
# The main job: start assetkitd, report this host into it with the agent, and show the resulting
# asset. Everything lives in target/demo (target/demo-pg).
#
#   scripts/demo.sh            on the embedded default, a SQLite file (make demo)
#   scripts/demo.sh postgres   on PostgreSQL: a throw-away cluster from tests/pg/up (make demo-pg)
set -euo pipefail
cd "$(dirname "$0")/.."
engine=${1:-sqlite}
bin=target/debug
demo=target/demo
[[ $engine == postgres ]] && demo=target/demo-pg

# The dev profile, the one `make test` builds: the demo then test on a fresh machine compile the
# workspace once. Deployments use packages (make packages) or `cargo build --release`.
echo "==> building assetkit and assetkitd (dev profile)"
cargo build --quiet -p assetkit-cli -p assetkitd

rm -rf "$demo" && mkdir -p "$demo"
case $engine in
  sqlite) db=$demo/assetkit.db ;;
  postgres)
    echo "==> starting a throw-away PostgreSQL cluster (tests/pg/up)"
    # shellcheck disable=SC1090
    source "$(tests/pg/up)"
    "$PG_BIN/psql" -q "$PG_URL" -c 'DROP DATABASE IF EXISTS assetkit_demo' -c 'CREATE DATABASE assetkit_demo'
    db="${PG_URL%/*}/assetkit_demo"
    ;;
  *) echo "usage: scripts/demo.sh [sqlite|postgres]" >&2; exit 2 ;;
esac
# The server key that seals secrets in the database: beside a SQLite file by default; given
# explicitly here, as every PostgreSQL replica must be.
export ASSETKIT_SECRET_KEY_FILE=$demo/server.key
echo "==> creating an agent key in $db"
key_json=$("$bin/assetkitd" keys create demo-agent --db "$db" --scope agent --json)
key_id=$(printf '%s' "$key_json" | sed -E 's/.*"key_id":"([^"]+)".*/\1/')
( umask 077; printf '%s' "$key_json" | sed -E 's/.*"secret":"([^"]+)".*/\1/' > "$demo/key" )

echo "==> starting assetkitd"
"$bin/assetkitd" serve --db "$db" --listen 127.0.0.1:0 --print-addr > "$demo/addr" 2> "$demo/assetkitd.log" &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q listening "$demo/addr" 2>/dev/null && break; sleep 0.05; done
addr=$(sed -n 's/^listening on //p' "$demo/addr")
[[ -n $addr ]] || { echo "assetkitd did not start; see $demo/assetkitd.log" >&2; exit 1; }
echo "    listening on $addr"

cat > "$demo/agent.toml" <<TOML
server    = "http://$addr"
key_id    = "$key_id"
key_file  = "$demo/key"
host_key_file = "$demo/host.key"
cert_file = "$demo/cert"
spool_dir = "$demo/spool"
plugins_dir = "$demo/plugins.d"
TOML

echo "==> assetkit report (agent mode)"
"$bin/assetkit" --config "$demo/agent.toml" report --no-splay
echo "==> assetkit report again: nothing changed, only last_seen moves"
"$bin/assetkit" --config "$demo/agent.toml" report --no-splay

kill -TERM "$server_pid" && wait "$server_pid" || true
trap - EXIT

echo
echo "==> the asset in the inventory (assetkitd assets show)"
"$bin/assetkitd" assets show --db "$db" "$(cat "$demo/cert")"
echo
echo "Database: $db   (try: $bin/assetkitd assets list --db $db)"
