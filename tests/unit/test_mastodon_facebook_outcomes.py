"""How the Mastodon and Facebook channels read an answer into an outcome, and the settling
rule of a key that lives an hour; no network."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from herald.channels import OutcomeKind, SettleBy
from herald.channels import facebook as fb
from herald.channels import mastodon as md
from herald.channels.web import Answer

NOW = datetime(2021, 2, 9, 8, 0, tzinfo=UTC)


def answer(
    status: int, body: object = None, headers: dict[str, str] | None = None, html: bool = False
) -> Answer:
    return Answer(status, headers or {}, body, html)


def graph(
    status: int, code: int, message: str = "m", headers: dict[str, str] | None = None
) -> Answer:
    return answer(
        status, {"error": {"message": message, "code": code, "type": "OAuthException"}}, headers
    )


# -- Mastodon --


def test_mastodon_429_is_claimable_again_at_its_iso_reset() -> None:
    reset = {"X-RateLimit-Reset": "2021-02-09T08:05:00.000Z"}
    outcome = md.outcome_for_answer(
        answer(429, {"error": "Too many requests"}, reset), stage="post", account="a", now=NOW
    )
    assert (outcome.kind, outcome.retry_at) == (
        OutcomeKind.RATE_LIMITED,
        NOW + timedelta(minutes=5),
    )
    fallback = md.outcome_for_answer(answer(429), stage="post", account="a", now=NOW)
    assert fallback.retry_at == NOW + md.RATE_LIMIT_FALLBACK


@pytest.mark.parametrize(
    ("status", "stage", "kind", "retryable", "words"),
    [
        (401, "post", OutcomeKind.FAILED, False, "reconnect the account"),
        (403, "media", OutcomeKind.FAILED, False, "write:statuses write:media read:statuses"),
        (422, "post", OutcomeKind.FAILED, False, "Mastodon refused the post (422): nope"),
        (500, "post", OutcomeKind.UNKNOWN, False, "may or may not be published"),
        (503, "media", OutcomeKind.FAILED, True, "nothing was posted"),
    ],
)
def test_mastodon_answers(
    status: int, stage: str, kind: OutcomeKind, retryable: bool, words: str
) -> None:
    outcome = md.outcome_for_answer(
        answer(status, {"error": "nope"}), stage=stage, account="a", now=NOW
    )
    assert (outcome.kind, outcome.retryable) == (kind, retryable)
    assert words in (outcome.reason or "")


def test_mastodon_html_answers_are_sentences() -> None:
    proxy = md.outcome_for_answer(answer(502, html=True), stage="post", account="a", now=NOW)
    assert proxy.kind is OutcomeKind.UNKNOWN and "HTML error page" in (proxy.reason or "")
    site = md.outcome_for_answer(answer(404, html=True), stage="post", account="a", now=NOW)
    assert (site.kind, site.retryable) == (OutcomeKind.FAILED, False)
    assert "not Mastodon's API" in (site.reason or "")


def test_a_mastodon_key_is_derived_from_the_delivery_and_unique_per_claim() -> None:
    from herald.delivery import DeliveryKey

    key = DeliveryKey("c", "p", "mastodon", "a")
    first, second = md.status_key(key), md.status_key(key)
    assert first != second and first.split("-")[1] == second.split("-")[1]
    assert first.split("-")[1] != md.status_key(key._replace(post="q")).split("-")[1]


def test_the_key_settles_for_its_lifetime_then_reading_back_does() -> None:
    rule = md.SETTLEMENT
    assert rule.in_force(NOW, NOW + timedelta(minutes=49)) is rule
    assert rule.in_force(NOW, NOW + timedelta(minutes=50)).by is SettleBy.READ_BACK
    assert rule.in_force(None, NOW) is md.AFTER_KEY  # no first attempt on record: expired
    assert fb.SETTLEMENT.in_force(None, NOW) is fb.SETTLEMENT


# -- Facebook --


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80001])
def test_facebook_rate_limits_wait_for_the_regain_estimate(code: int) -> None:
    usage = {"1": [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 23}]}
    limited = graph(400, code, headers={"X-Business-Use-Case-Usage": json.dumps(usage)})
    outcome = fb.outcome_for_answer(limited, stage="post", account="a", now=NOW)
    assert (outcome.kind, outcome.retry_at) == (
        OutcomeKind.RATE_LIMITED,
        NOW + timedelta(minutes=23),
    )
    bare = fb.outcome_for_answer(graph(400, code), stage="post", account="a", now=NOW)
    assert bare.retry_at == NOW + fb.RATE_LIMIT_FALLBACK


@pytest.mark.parametrize(
    ("status", "code", "stage", "kind", "words"),
    [
        (400, 190, "post", OutcomeKind.FAILED, "reconnect the Page"),
        (403, 200, "media", OutcomeKind.FAILED, "pages_manage_posts and pages_read_engagement"),
        (403, 10, "post", OutcomeKind.FAILED, "pages_manage_posts and pages_read_engagement"),
        (400, 506, "post", OutcomeKind.UNKNOWN, "duplicate"),
        (500, 2, "post", OutcomeKind.UNKNOWN, "may or may not be published"),
        (500, 2, "media", OutcomeKind.FAILED, "nothing was posted"),
        (400, 100, "post", OutcomeKind.FAILED, "(#100) m"),
    ],
)
def test_facebook_answers_say_the_code_and_message(
    status: int, code: int, stage: str, kind: OutcomeKind, words: str
) -> None:
    outcome = fb.outcome_for_answer(graph(status, code), stage=stage, account="a", now=NOW)
    assert outcome.kind is kind
    assert words in (outcome.reason or "") and f"(#{code})" in (outcome.reason or "")
    assert "Unknown Error" not in (outcome.reason or "")


def test_a_facebook_answer_without_graphs_json_is_a_sentence() -> None:
    outcome = fb.outcome_for_answer(answer(404, html=True), stage="post", account="a", now=NOW)
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, False)
    assert "check FACEBOOK_GRAPH_URL" in (outcome.reason or "")


def test_a_page_post_url_is_its_permalink() -> None:
    assert fb.post_url("123_456") == "https://www.facebook.com/123/posts/456"
    assert fb.first_link("See https://example.org/a. Then") == "https://example.org/a"


# -- what the engine hands a channel --


class _Recording:
    """A channel that remembers the time left the engine said it had, and each key sent."""

    name = "mastodon"
    settlement = md.SETTLEMENT
    create_seconds = 1.0

    def __init__(self) -> None:
        self.left: list[float | None] = []
        self.keys: list[str | None] = []
        self.answers = [OutcomeKind.UNKNOWN, OutcomeKind.SENT]

    def new_key(self, key: object) -> str:
        return "herald-k"

    def publish(
        self, account: str, text: str, reply: object, media: object, call: object
    ) -> object:
        from herald.channels import CreateCall, Outcome, not_created, why_not

        assert isinstance(call, CreateCall)
        self.left.append(call.remaining() if call.remaining else None)
        self.keys.append(call.idempotency_key)
        stop = why_not(call)
        if stop is not None:
            return not_created(stop)
        kind = self.answers.pop(0)
        return Outcome(kind, remote_id="1" if kind is OutcomeKind.SENT else None, url="u")

    def find_recent(self, *args: object, **options: object) -> None:
        return None  # the timeline lags: not listed yet


def test_the_engine_hands_the_time_left_and_repeats_an_unknown_with_its_key(
    tmp_path: object,
) -> None:
    from pathlib import Path

    from herald.engine import Engine
    from herald.ledger import State
    from herald.ledger.sqlite import SqliteLedger
    from herald.plan import load_plan_strict

    assert isinstance(tmp_path, Path)
    campaign = tmp_path / "c.yaml"
    campaign.write_text(
        "campaign: c\ntitle: C\ntimezone: UTC\naccounts:\n  mastodon:\n"
        '    m: {handle: "@m@i.example", instance: "https://i.example"}\n'
        "posts:\n  - {id: p, at: 2021-02-09 08:00, text: Hello}\n",
        encoding="utf-8",
    )
    plan = load_plan_strict([campaign])
    channel = _Recording()
    with SqliteLedger(tmp_path / "l.sqlite3") as ledger:
        engine = Engine(plan, ledger, {"mastodon": channel})  # type: ignore[dict-item]
        # When the due minute's create is UNKNOWN and the next minute ticks
        engine.tick(NOW, lambda: 42.0)
        engine.tick(NOW + timedelta(minutes=1), lambda: 41.0)
        record = ledger.get_many([plan.deliveries[0].key])[plan.deliveries[0].key]
    # Then each create was told the invocation's time left, and the UNKNOWN was settled
    # inside the key's hour by repeating the create with the same key, not by waiting
    assert channel.left == [42.0, 41.0]
    assert channel.keys == ["herald-k", "herald-k"]
    assert record.state is State.SENT
