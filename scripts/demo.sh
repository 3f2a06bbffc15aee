#!/usr/bin/env bash
# make demo: the Safer Internet Day 2021 campaign, checked and published on a virtual
# clock against the embedded defaults (local SQLite ledger, outbox folder). No AWS, no X.
set -euo pipefail
cd "$(dirname "$0")/.."
herald=.venv/bin/herald

echo "== herald validate campaigns/"
"$herald" validate campaigns/ --quiet
echo
echo "== herald simulate: the whole campaign, minute by minute (8-11 February 2021)"
"$herald" simulate campaigns/ --from 2021-02-08T00:00Z --to 2021-02-11T00:00Z --reset
echo
echo "== herald status"
"$herald" status
echo
echo "What went out is in .herald/outbox/ (one .txt per post, and outbox.jsonl)."
