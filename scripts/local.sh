#!/usr/bin/env bash
# make local: everything the publisher needs, on this machine, for `sam local invoke` and for
# running herald against local services. Until Ctrl-C:
#   - DynamoDB Local on :8000, with the ledger table built from template.yaml,
#   - the fake X API on :8787, accepting the dummy keys in scripts/local-credentials.json,
#   - the fake Mastodon on :8788 and the fake Facebook Graph API on :8789, accepting the
#     dummy tokens there, for the accounts of the Safer Internet Day campaign,
#   - the Bluesky reference PDS on :2583, with the account hertspolice.bsky.social,
#   - the fake Secrets Manager on :4566, holding those keys and the account's app password
#     as the credentials secret,
# each on 127.0.0.1 and, where Docker Engine runs on this machine, on its bridge's gateway
# (172.17.0.1 by default), where the Lambda container finds `host.docker.internal` when
# started with `--add-host host.docker.internal:host-gateway`. Never on a public interface.
# Names and ports come from env.json (or the file given: scripts/local.sh [ENV_FILE]), the
# file `sam local invoke --env-vars` reads, so the function and these services agree.
# Nothing here reaches AWS, X, Bluesky, Mastodon or Facebook.
set -euo pipefail
cd "$(dirname "$0")/.."

python=.venv/bin/python
credentials=scripts/local-credentials.json
env_file=${1:-env.json}
[[ -x $python ]] || { echo "local.sh: $python is missing; run 'make venv' first" >&2; exit 1; }
[[ -f $env_file ]] || { echo "local.sh: no $env_file" >&2; exit 1; }

# LEDGER_TABLE, CREDENTIALS_SECRET and the six ports, from the env file.
eval "$(ENV_FILE=$env_file "$python" - <<'PY'
import json
import os
import shlex
from urllib.parse import urlsplit

with open(os.environ["ENV_FILE"], encoding="utf-8") as file:
    env = json.load(file)["PublisherFunction"]
values = {
    "table": env["LEDGER_TABLE"],
    "secret": env["CREDENTIALS_SECRET"],
    "dynamodb_port": urlsplit(env["AWS_ENDPOINT_URL_DYNAMODB"]).port,
    "secrets_port": urlsplit(env["AWS_ENDPOINT_URL_SECRETS_MANAGER"]).port,
    "x_port": urlsplit(env["X_API_BASE_URL"]).port,
    "bluesky_port": urlsplit(env["BLUESKY_SERVICE_URL"]).port,
    "mastodon_port": urlsplit(env["MASTODON_BASE_URL"]).port,
    "facebook_port": urlsplit(env["FACEBOOK_GRAPH_URL"]).port,
}
for name, value in values.items():
    print(f"{name}={shlex.quote(str(value))}")
PY
)"

# gateway: Docker's bridge address on this machine, if any; docker_problem: why no container.
eval "$("$python" -m herald_dev.docker_host --shell)"
hosts=(127.0.0.1 ${gateway:+"$gateway"})
listen=()
for host in "${hosts[@]}"; do listen+=(--host "$host"); done

answers() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

for host in "${hosts[@]}"; do
  for port in "$dynamodb_port" "$x_port" "$mastodon_port" "$facebook_port" "$secrets_port" \
    "$bluesky_port"; do
    if answers "$host" "$port"; then
      echo "local.sh: something already listens on $host:$port (an earlier make local?)" >&2
      exit 1
    fi
  done
done

logs=$(mktemp -d -t herald-local.XXXXXX)
pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "stopping the local services..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$logs"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$python" -m herald_dev.dynamodb_local "${listen[@]}" --port "$dynamodb_port" --table "$table" \
  >"$logs/dynamodb.log" 2>&1 &
pids+=($!)
"$python" -m herald_dev.fake_x "${listen[@]}" --port "$x_port" --credentials "$credentials" &
pids+=($!)
"$python" -m herald_dev.fake_mastodon "${listen[@]}" --port "$mastodon_port" \
  --credentials "$credentials" --handle "hertspolice=@hertspolice@police.example" &
pids+=($!)
"$python" -m herald_dev.fake_facebook "${listen[@]}" --port "$facebook_port" \
  --credentials "$credentials" --page "hertspolice=123456789012345" &
pids+=($!)
# The Bluesky PDS first: the secret holds the app password of the account it makes.
"$python" -m herald_dev.bluesky_pds "${listen[@]}" --port "$bluesky_port" \
  --account hertspolice.bsky.social --secret "$logs/credentials.json" --merge-secret "$credentials" \
  >"$logs/bluesky.log" 2>&1 &
pids+=($!)
for _ in $(seq 1200); do
  grep -q '^its credentials' "$logs/bluesky.log" && break
  kill -0 "${pids[-1]}" 2>/dev/null || { cat "$logs/bluesky.log" >&2; exit 1; }
  sleep 0.1
done
grep -q '^its credentials' "$logs/bluesky.log" || { cat "$logs/bluesky.log" >&2; exit 1; }
grep -v '^its credentials' "$logs/bluesky.log"
"$python" -m herald_dev.fake_secrets "${listen[@]}" --port "$secrets_port" \
  --secret "$secret=$logs/credentials.json" &
pids+=($!)

# DynamoDB Local prints its export line once the table exists.
for _ in $(seq 600); do
  grep -q '^export AWS_ENDPOINT_URL_DYNAMODB=' "$logs/dynamodb.log" && break
  kill -0 "${pids[0]}" 2>/dev/null || { cat "$logs/dynamodb.log" >&2; exit 1; }
  sleep 0.1
done
grep -v '^export ' "$logs/dynamodb.log"
for port in "$x_port" "$mastodon_port" "$facebook_port" "$secrets_port"; do
  for _ in $(seq 100); do answers 127.0.0.1 "$port" && break; sleep 0.1; done
  answers 127.0.0.1 "$port" || { echo "local.sh: nothing answers on 127.0.0.1:$port" >&2; exit 1; }
done

cat <<TEXT

Local services are up on ${hosts[*]} (Ctrl-C stops them all).

For herald, boto3 or the AWS CLI in this shell:

  export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$dynamodb_port
  export AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:$secrets_port
  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
  export AWS_DEFAULT_REGION=eu-west-2 AWS_REGION=eu-west-2
  export LEDGER_TABLE=$table
  export CREDENTIALS_SECRET=$secret
  export X_API_BASE_URL=http://127.0.0.1:$x_port
  export BLUESKY_SERVICE_URL=http://127.0.0.1:$bluesky_port
  export MASTODON_BASE_URL=http://127.0.0.1:$mastodon_port
  export FACEBOOK_GRAPH_URL=http://127.0.0.1:$facebook_port

For the function in its Lambda container, built for this machine's architecture
($env_file names these services as host.docker.internal):

  make build-host
  .venv/bin/sam local invoke -t .aws-sam/host/build/template.yaml PublisherFunction \\
    -e events/scheduler.json --env-vars $(printf %q "$env_file") \\
    --add-host host.docker.internal:host-gateway

Where no container registry is reachable, add a stand-in image built here (as root, once):
    --invoke-image "\$(scripts/lambda_image.sh)" --skip-pull-image

What the fake X received: curl -s http://127.0.0.1:$x_port/__control/posts
What the fake Mastodon received: curl -s http://127.0.0.1:$mastodon_port/__control/posts
What the fake Facebook Page received: curl -s http://127.0.0.1:$facebook_port/__control/posts
What is on Bluesky (a campaign whose accounts.bluesky names hertspolice.bsky.social):
  curl -s 'http://127.0.0.1:$bluesky_port/xrpc/com.atproto.repo.listRecords?repo=hertspolice.bsky.social&collection=app.bsky.feed.post'
TEXT
if [[ -n $docker_problem ]]; then
  echo
  echo "The container step will not work yet: $docker_problem,"
  echo "so sam local cannot start the function's container (the services above still serve herald)."
fi

# Stay up until Ctrl-C, or until one of the services dies.
wait -n "${pids[@]}"
echo "local.sh: a local service stopped on its own" >&2
exit 1
