#!/usr/bin/env bash
# make demo: the Safer Internet Day 2021 campaign, checked and published on a virtual
# clock against the embedded defaults (local SQLite ledger, outbox folder). No AWS and no
# network: the outbox stands in for each channel.
set -euo pipefail
cd "$(dirname "$0")/.."
herald=.venv/bin/herald
python=.venv/bin/python
demo=.herald/demo-campaigns

echo "== herald validate campaigns/"
"$herald" validate campaigns/ --quiet
echo
echo "== the campaign with a Bluesky account added (README: \"Add a Bluesky account\")"
"$python" -m herald_dev.bluesky_edition campaigns/ "$demo" --campaign safer-internet-day-2021.yaml
"$herald" validate "$demo" --quiet
echo
echo "== herald simulate: the whole campaign on every channel, Bluesky included, minute by minute (8-11 February 2021)"
"$herald" simulate "$demo" --from 2021-02-08T00:00Z --to 2021-02-11T00:00Z --reset
echo
echo "== herald status"
"$herald" status --campaigns "$demo"
echo
echo "What went out is in .herald/outbox/ (one .txt per post, and outbox.jsonl)."
