#!/usr/bin/env bash
# The main job on the embedded default: start assetkitd on a SQLite file, report this host into
# it with the agent, and show the resulting asset. Everything lives in target/demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release
demo=target/demo

echo "==> building assetkit and assetkitd (release)"
cargo build --release --quiet -p assetkit-cli -p assetkitd

rm -rf "$demo" && mkdir -p "$demo"
db=$demo/assetkit.db
echo "==> creating an agent key in $db"
key_json=$("$bin/assetkitd" keys create --db "$db" --name demo-agent --scope agent --json)
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
