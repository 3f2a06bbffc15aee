"""A copy of a campaigns folder in which one campaign also publishes to Bluesky: its
`accounts.bluesky` gets an account and its `defaults.channels` gets `bluesky`, as a comms
officer would write them (README: "Add a Bluesky account"). The demo and the tests use it,
so the Safer Internet Day campaign in campaigns/ stays as it is written.

    .venv/bin/python -m herald_dev.bluesky_edition campaigns/ .herald/demo-campaigns \\
        --campaign safer-internet-day-2021.yaml [--handle hertspolice.bsky.social]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

DEFAULT_ACCOUNT = "hertspolice"
DEFAULT_HANDLE = "hertspolice.bsky.social"


def with_bluesky(
    source: Path,
    target: Path,
    campaign_file: str,
    *,
    account: str = DEFAULT_ACCOUNT,
    handle: str = DEFAULT_HANDLE,
    link_card: bool = False,
    channels: Sequence[str] | None = None,
) -> Path:
    """Copy `source` to `target` (replacing it) and add a Bluesky account to the campaign
    `campaign_file` there, published to beside its other channels (or, given `channels`,
    to those alone); the copy's path."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("plan.json", "__pycache__"))
    path = target / campaign_file
    yaml = YAML()  # round trip: comments, quotes and layout kept
    yaml.width = 100
    yaml.preserve_quotes = True
    data = yaml.load(path.read_text(encoding="utf-8"))
    spec = CommentedMap({"handle": handle})
    if link_card:
        spec["link_card"] = True
    spec.fa.set_flow_style()
    data["accounts"]["bluesky"] = CommentedMap({account: spec})
    defaults = data.setdefault("defaults", CommentedMap())
    written = list(defaults.get("channels") or list(data["accounts"]))
    listed = CommentedSeq(channels or dict.fromkeys([*written, "bluesky"]))
    listed.fa.set_flow_style()
    defaults["channels"] = listed
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(data, out)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--campaign", required=True, help="the campaign's file name in SOURCE")
    parser.add_argument("--account", default=DEFAULT_ACCOUNT)
    parser.add_argument("--handle", default=DEFAULT_HANDLE)
    args = parser.parse_args(argv)
    path = with_bluesky(
        args.source, args.target, args.campaign, account=args.account, handle=args.handle
    )
    print(f"{path}: publishes to Bluesky as @{args.handle} too")
    return 0


if __name__ == "__main__":
    sys.exit(main())
