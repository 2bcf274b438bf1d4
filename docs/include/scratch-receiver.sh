cd "$(mktemp -d)" && umask 077              # a scratch directory; files made here are yours alone
export ASSETKIT_DB="$PWD/assetkit.db"       # the store every assetkitd command below uses
assetkitd keys create agents --scope agent --json > agents.json
jq -r .secret agents.json > agent.key
assetkitd serve --listen 127.0.0.1:8600 2> assetkitd.log &
curl -sf --retry 20 --retry-connrefused --retry-delay 1 http://127.0.0.1:8600/healthz   # wait for it
