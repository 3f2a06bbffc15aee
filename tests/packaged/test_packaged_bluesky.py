"""The built function publishes to Bluesky from its layer alone: the artifact `sam build`
produced, in an isolated interpreter as Lambda runs it (tests/packaged/test_packaged.py),
with the SID campaign's Bluesky edition, compiled as `sam build` compiles campaigns, its
credentials in the fake Secrets Manager and the real Bluesky PDS behind BLUESKY_SERVICE_URL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from herald.compiled_plan import write_index
from herald.delivery import DeliveryKey
from herald.ledger import State
from herald.ledger.dynamodb import DynamoLedger
from herald.plan import load_plan
from herald_dev.bluesky_accounts import PdsAccount, list_posts
from herald_dev.bluesky_edition import with_bluesky
from herald_dev.bluesky_pds import BlueskyPds
from herald_dev.fake_secrets import FakeSecrets
from herald_dev.fake_x import FakeX
from herald_dev.x_accounts import X_SECRET
from tests.packaged.conftest import REPO_ROOT
from tests.packaged.test_packaged import LAUNCH_ALT, lambda_environment, run_packaged

pytestmark = pytest.mark.packaged

SECRET_NAME = "herald/packaged/x-and-bluesky"
LAUNCH = DeliveryKey("safer-internet-day-2021", "launch", "bluesky", "hertspolice")


def test_the_packaged_function_publishes_to_bluesky_exactly_once(
    host_build: Path,
    lambda_runtime: Path,
    ledger_table: str,
    dynamodb_local: str,
    dynamodb_client: Any,
    fake_secrets: FakeSecrets,
    fake_x: FakeX,
    fake_mastodon: Any,
    fake_facebook: Any,
    bluesky_pds: BlueskyPds,
    new_bluesky_account: Callable[[], PdsAccount],
    tmp_path: Path,
) -> None:
    # Given the SID campaign with a Bluesky account added and compiled as sam build does,
    # and both channels' credentials in the secret
    account = new_bluesky_account()
    campaigns = tmp_path / "campaigns"
    with_bluesky(
        REPO_ROOT / "campaigns",
        campaigns,
        "safer-internet-day-2021.yaml",
        handle=account.handle,
        channels=["x", "bluesky"],
    )
    plan, problems = load_plan([campaigns])
    write_index(campaigns, plan, [str(p) for p in problems if p.is_error])
    fake_secrets.put(SECRET_NAME, json.dumps({**X_SECRET, **account.secret()}))
    env = lambda_environment(
        host_build / "PublisherFunction",
        ledger_table=ledger_table,
        dynamodb=dynamodb_local,
        secrets=fake_secrets.url,
        x_api=fake_x.url,
        mastodon=fake_mastodon.url,
        graph=fake_facebook.url,
    )
    env.update(
        CAMPAIGNS_DIR=str(campaigns),
        CREDENTIALS_SECRET=SECRET_NAME,
        BLUESKY_SERVICE_URL=bluesky_pds.url,
    )

    # When the isolated interpreter handles both 08:00 events
    result, _ = run_packaged(host_build, lambda_runtime, env, tmp_path)

    # Then the first published the launch post to X and to Bluesky, the second nothing
    first, second = result["results"]
    assert (first["Published"], second.get("Published", 0)) == (2, 0)
    [post] = list_posts(bluesky_pds.url, account.did)
    assert post["value"]["text"].startswith("Today is #SaferInternetDay.")
    [image] = post["value"]["embed"]["images"]
    assert image["alt"].startswith(LAUNCH_ALT)
    # and the ledger holds it SENT with the uri and cid the server gave it
    record = DynamoLedger(ledger_table, dynamodb_client).get_many([LAUNCH])[LAUNCH]
    assert record.state is State.SENT
    assert (record.remote_id, record.remote_cid) == (post["uri"], post["cid"])
    # and what Bluesky needs came from the layer: its grapheme counter and HTTP client
    layer = str(host_build / "HeraldLayer" / "python")
    files = result["module_files"]
    for module in ("herald.channels.bluesky", "wcwidth", "requests"):
        assert files[module].startswith(layer), (module, files[module])
