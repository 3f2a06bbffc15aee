"""Rendering is bounded: no template can hang `herald validate` or exhaust the publisher's
512 MB of memory. A template that would write more than MAX_OUTPUT characters, make more
than that in one step, or run longer than MAX_SECONDS is refused with a sentence: a
RenderError from `render`, a FILE:LINE error from `herald validate`, and a FAILED delivery,
not retried, from the publisher. Ordinary templates render exactly as Jinja's sandbox
renders them.

The timeout markers only stop a regression from hanging the suite (each of these bombs took
20 s or more, or hundreds of megabytes, before); they do not time anything."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from herald.campaign import Campaign, load_campaign
from herald.channels import READ_BACK_THEN_RESEND, CreateCall, Outcome, OutcomeKind, Reply
from herald.cli import main
from herald.delivery import DeliveryKey, MediaItem
from herald.engine import Engine
from herald.ledger import State
from herald.ledger.sqlite import SqliteLedger
from herald.plan import deliveries, load_plan_strict
from herald.render import MAX_OUTPUT, MAX_SECONDS, RenderError, context, render, source

DATA = Path(__file__).resolve().parents[1] / "data" / "campaigns"
RELEASE = DATA / "valid" / "releases" / "demo-day-2021.md"
SID = Path(__file__).resolve().parents[2] / "campaigns" / "safer-internet-day-2021.yaml"
HERALD = Path(sys.executable).with_name("herald")
NOW_ISO = "2021-01-01T00:00:00Z"  # before every post below

TOO_LONG = "the template would make a text of more than 100,000 characters"
OUTPUT_OVER = "the template's output is over 100,000 characters"
TOO_SLOW = "the template took over 1 s to render"
TOO_MUCH = "the template makes over 1,000,000 characters of text while rendering"

LIST_TOO_LONG = "the template would make a list of more than 100,000 items"

# The template bombs of issue 10 (D8), as (template, what the refusal says, name). Before,
# each hung `herald validate` for over 20 s, ended in a raw MemoryError, or passed
# validation and then killed the 512 MB function at every attempt.
BOMBS = [
    (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        TOO_SLOW,
        "nested-range",
    ),
    (
        "{% for i in range(100000) %}{% for j in range(100000) %}{{ 'x' * 1000 }}"
        "{% endfor %}{% endfor %}",
        OUTPUT_OVER,
        "nested-range-writing",
    ),
    ("{{ range(100000) | join('x' * 10000) }}", TOO_LONG, "join-long-separator"),
    ("{{ ('a' * 10000) | replace('a', 'b' * 10000) }}", TOO_LONG, "replace"),
    ("{{ lipsum(n=2000000) }}", TOO_LONG, "lipsum"),
    ("{{ '' | center(1000000000) }}", TOO_LONG, "center"),
    ("{{ ('a\\n' * 5000) | indent(1000000) }}", TOO_LONG, "indent"),
    ("{{ '%1000000000s' % 'a' }}", TOO_LONG, "percent-format"),
    ('{{ "".ljust(600000000) }}', TOO_LONG, "ljust"),
    ("{{ 'lol' * 100000000 }}", "'*' would make more than 10,000 items", "repetition"),
]

# Other roads to the same bombs: one for each kind of operation the limits cover.
MORE_BOMBS = [
    (
        "{% set s = 'x' * 10000 %}{% for a in s %}{% for b in s %}{% for c in s %}"
        "{% endfor %}{% endfor %}{% endfor %}",
        TOO_SLOW,
        "nested-loops-over-a-text",
    ),
    (
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
        "{{ f(40) }}",
        TOO_SLOW,
        "macro-calling-itself-twice",
    ),
    (
        "{% for i in range(100000) recursive %}{% if loop.depth == 1 %}"
        "{{ loop(range(100000)) }}{% endif %}{% endfor %}",
        TOO_SLOW,
        "recursive-loop",
    ),
    (
        "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
        "{% endfor %}{{ ns.s | length }}",
        TOO_LONG,
        "doubling-with-tilde",
    ),
    (
        "{% set ns = namespace(s=['x']) %}{% for i in range(40) %}"
        "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | length }}",
        LIST_TOO_LONG,
        "doubling-a-list-with-plus",
    ),
    (
        "{% set s = 'x' * 10000 %}{{ (s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s) | length }}",
        TOO_LONG,
        "tilde-chain",
    ),
    (
        "{% set s = 'x' * 10000 %}{% set x %}{% for i in range(100000) %}{{ s }}{% endfor %}"
        "{% endset %}{{ x | length }}",
        TOO_MUCH,
        "set-block-capturing-a-loop",
    ),
    (
        "{% set s = 'x' * 10000 %}{% set a = [s, s, s, s, s, s, s, s, s, s] %}"
        "{% set b = [a, a, a, a, a, a, a, a, a, a] %}{% set c = [b, b, b, b, b, b, b, b] %}"
        "{{ c }}",
        OUTPUT_OVER,
        "printing-lists-that-share-items",
    ),
    ("{{ '{:>1000000000}'.format(1) }}", TOO_LONG, "format-width"),
    ("{{ '{:>{w}}'.format(1, w=1000000000) }}", TOO_LONG, "format-nested-width"),
    ("{{ '%*s' % (1000000000, 'a') }}", TOO_LONG, "percent-star-width"),
    ("{{ '%1000000000s' | format('a') }}", TOO_LONG, "format-filter"),
    ("{{ ('\\t' * 10000).expandtabs(100000) }}", TOO_LONG, "expandtabs"),
    ("{{ ('a' * 10000).translate({97: 'b' * 10000}) }}", TOO_LONG, "translate"),
    ("{{ (1).to_bytes(1000000000, 'big') }}", TOO_LONG, "to-bytes"),
    ("{{ ('a\\r' * 5000) | indent(100) }}", TOO_LONG, "indent-other-line-ends"),
    ("{{ ('x' * 10000) | replace('', 'y' * 100) }}", TOO_LONG, "replace-empty"),
    ("{{ ([[1] * 100] * 100) | tojson(indent=100000) }}", TOO_LONG, "tojson"),
    ("{{ [1] | batch(1000000000, 'x') | list }}", LIST_TOO_LONG, "batch-fill"),
    ("{{ [1] | slice(1000000000) | list }}", LIST_TOO_LONG, "slice"),
    (
        "{{ ([[1]] * 10000) | sum(start=[]) | length }}",
        "the template would take over 1 s to render",
        "sum-of-lists",
    ),
    ("{{ lipsum(1000) }}", TOO_LONG, "lipsum-paragraphs"),
    ("{{ (10 ** 3000) * (10 ** 3000) }}", "would make a number too big to print", "power"),
]


def campaign_with(tmp_path: Path, text: str) -> Campaign:
    """A one-post campaign with a release and variables, whose template is `text`."""
    releases = tmp_path / "releases"
    releases.mkdir(parents=True, exist_ok=True)
    shutil.copy(RELEASE, releases / "demo.md")
    path = tmp_path / "c.yaml"
    path.write_text(
        "campaign: limits\n"
        "title: Limits\n"
        "timezone: Europe/London\n"
        "release: releases/demo.md\n"
        "accounts:\n"
        "  x:\n"
        "    herald: {handle: HeraldDemo}\n"
        'variables: {hashtag: "#DemoDay", items: [1, 2, 3], facts: {a: 1, b: "x<y"}}\n'
        "posts:\n"
        "  - id: one\n"
        "    at: 2031-03-01 09:00\n"
        f"    text: {json.dumps(text)}\n"
    )
    result = load_campaign(path)
    assert result.campaign is not None, result.problems
    return result.campaign


def rendered(campaign: Campaign) -> str:
    post = campaign.posts[0]
    return render(campaign, post, post.parts[0], "x")


def bombs_file(folder: Path, templates: list[str]) -> tuple[Path, list[int]]:
    """A campaign with one post per template; the file and the line of each template."""
    lines = ["campaign: bombs", "title: Bombs", "timezone: Europe/London", "accounts:"]
    lines += ["  x:", "    herald: {handle: HeraldDemo}", "posts:"]
    at = []
    for number, template in enumerate(templates):
        lines += [f"  - id: bomb-{number}", f"    at: 2031-03-01 09:{number:02d}"]
        lines.append(f"    text: {json.dumps(template)}")
        at.append(len(lines))
    path = folder / "bombs.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path, at


def cases(bombs: list[tuple[str, str, str]]) -> list[object]:
    return [pytest.param(template, words, id=name) for template, words, name in bombs]


# ---- each bomb, through render ---------------------------------------------------------------


@pytest.mark.timeout(10)
@pytest.mark.parametrize(("template", "words"), cases(BOMBS + MORE_BOMBS))
def test_a_template_bomb_is_refused_with_a_sentence(
    tmp_path: Path, template: str, words: str
) -> None:
    # Given a campaign whose post is a template bomb; Jinja is imported before measuring
    campaign = campaign_with(tmp_path, template)
    rendered(campaign_with(tmp_path / "warm", "{{ hashtag }}"))
    # When it is rendered while allocations are traced
    tracemalloc.start()
    try:
        with pytest.raises(RenderError) as refused:
            rendered(campaign)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Then it is refused with a sentence naming the limit, having used little memory
    assert words in str(refused.value)
    assert peak < 32 * 1024 * 1024, f"peak allocation {peak:,} bytes"


@pytest.mark.timeout(10)
def test_the_limits_are_per_text_and_a_refusal_leaves_none_behind(tmp_path: Path) -> None:
    # Given a template that runs out of time, and an ordinary one
    slow = campaign_with(tmp_path / "slow", BOMBS[0][0])
    ordinary = campaign_with(tmp_path, "{{ hashtag }} {{ items | join(', ') }}")
    # When the slow one is refused, then the ordinary one is rendered
    with pytest.raises(RenderError, match=TOO_SLOW):
        rendered(slow)
    # Then the ordinary one has its own budget and renders
    assert rendered(ordinary) == "#DemoDay 1, 2, 3"


def test_a_post_as_long_as_any_network_allows_still_renders(tmp_path: Path) -> None:
    # Given a template writing 63,206 characters (the longest post, on Facebook), and one
    # writing a character more than MAX_OUTPUT
    longest = campaign_with(
        tmp_path / "longest", "{% for i in range(7) %}{{ 'x' * 9000 }}{% endfor %}{{ 'y' * 206 }}"
    )
    over = campaign_with(tmp_path, "{% for i in range(10) %}{{ 'x' * 10000 }}{% endfor %}!")
    # When they are rendered / Then the first is whole, the second refused
    assert len(rendered(longest)) == 63_206
    with pytest.raises(RenderError, match=OUTPUT_OVER):
        rendered(over)
    assert MAX_OUTPUT == 100_000
    assert MAX_SECONDS == 1.0


# ---- through `herald validate` and the publisher ---------------------------------------------


@pytest.mark.timeout(60)
def test_validate_reports_each_bomb_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a campaign file with one post per bomb
    path, lines = bombs_file(tmp_path, [template for template, _, _ in BOMBS])
    monkeypatch.chdir(tmp_path)
    # When it is validated
    code = main(["validate", path.name, "--now", NOW_ISO])
    # Then exit 1, one FILE:LINE line per bomb saying what it would do, and no traceback
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert "Traceback" not in err
    reported = err.splitlines()
    for number, ((_, words, _), line) in enumerate(zip(BOMBS, lines, strict=True)):
        start = f"bombs.yaml:{line}: post 'bomb-{number}': "
        assert any(r.startswith(start) and words in r for r in reported), (start, err)
    assert err.strip().endswith(f"{len(BOMBS)} errors; nothing was published.")


@pytest.mark.timeout(60)
def test_installed_herald_validate_refuses_bombs_without_traceback(tmp_path: Path) -> None:
    # Given the file of bombs, and the installed command in a fresh process
    path, lines = bombs_file(tmp_path, [template for template, _, _ in BOMBS])
    # When `herald validate` runs
    proc = subprocess.run(
        [str(HERALD), "validate", path.name, "--now", NOW_ISO],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    # Then exit 1, every bomb reported at its line, nothing but FILE:LINE lines
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    *problems, summary = proc.stderr.strip().splitlines()
    assert summary.endswith("nothing was published.")
    assert [p.split(":", 2)[1] for p in problems] == [str(line) for line in lines]


class RecordingChannel:
    """A channel that publishes every text it is given to a list."""

    name = "x"
    settlement = READ_BACK_THEN_RESEND
    create_seconds = 1.0

    def __init__(self) -> None:
        self.texts: list[str] = []

    def new_key(self, key: DeliveryKey) -> str | None:
        return None

    def publish(
        self, account: str, text: str, reply_to: Reply | None, media: list[MediaItem],
        call: CreateCall | None = None,
    ) -> Outcome:  # fmt: skip
        self.texts.append(text)
        return Outcome(OutcomeKind.SENT, str(len(self.texts)), "https://x.com/h/status/1")

    def find_recent(
        self, account: str, text: str, since: datetime, **options: Any
    ) -> Outcome | None:
        return None


@pytest.mark.timeout(30)
def test_the_publisher_fails_a_bomb_for_good_and_publishes_the_rest(tmp_path: Path) -> None:
    # Given a campaign with an ordinary post and a bomb due at the same minute
    path = tmp_path / "due.yaml"
    path.write_text(
        "campaign: bombs\ntitle: Bombs\ntimezone: UTC\naccounts:\n  x:\n    herald: {handle: H}\n"
        "posts:\n"
        "  - {id: hello, at: 2031-03-01 09:00, text: Hello from herald}\n"
        "  - {id: bomb, at: 2031-03-01 09:00, text: '{{ \"\".ljust(600000000) }}'}\n"
    )
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3")
    channel = RecordingChannel()
    engine = Engine(load_plan_strict([path]), ledger, {"x": channel})
    # When the publisher ticks at that minute
    engine.tick(datetime(2031, 3, 1, 9, 0, tzinfo=UTC))
    # Then the ordinary post went out, the bomb never reached the channel, and the bomb is
    # FAILED, not retryable, saying why
    assert channel.texts == ["Hello from herald"]
    key = DeliveryKey("bombs", "bomb", "x", "herald")
    record = ledger.get_many([key])[key]
    assert record.state is State.FAILED
    assert record.retryable is False
    assert record.reason == f"the template did not render: {TOO_LONG}"


# ---- ordinary templates render as before -----------------------------------------------------


def reference(campaign: Campaign) -> str:
    """What Jinja's own sandbox, configured as herald's, renders for the campaign's post."""
    post = campaign.posts[0]
    part = post.parts[0]
    plain = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
    )
    return plain.from_string(source(part, "x")).render(context(campaign, post, part)).strip()


ORDINARY = [
    "{{ hashtag | upper }} {{ hashtag | replace('#', '') }} {{ items | join(', ') }}",
    "{% for h in release.headlines %}{{ loop.index }}/{{ loop.length }}. {{ h }}"
    "{% if not loop.last %}; {% endif %}{% endfor %}",
    "{% for x in items if x > 1 %}{{ x }}{% else %}none{% endfor %}",
    "{{ '%s and %d' % ('a', 3) }} {{ '%05.1f' % 3.14159 }} {{ '%*d|' % (5, 42) }}",
    "{{ '%(a)s' % facts }} {{ '%s' | format(items) }}",
    "{{ '{:,}'.format(2500000) }} {{ '{:>10}|'.format('x') }} {{ '{a}'.format_map(facts) }}",
    "{{ post.at.strftime('%A %d %B') }} {{ '{:%Y-%m-%d}'.format(post.at) }}",
    "{{ release.title ~ ' ' ~ hashtag ~ 1 ~ items }}",
    "{% macro m(x) %}<{{ x }}>{% endmacro %}{{ m('a') }}{{ m(hashtag) }}",
    "{% set t %}Hi {{ hashtag }}{% endset %}{{ t | lower }} {% filter upper %}a{% endfilter %}",
    "{% autoescape true %}{{ '<b>' }}{{ '<i>' | safe ~ '<u>' }}{% endautoescape %}",
    "{{ items | batch(2, 0) | list }} {{ items | slice(2) | list }} {{ facts | dictsort }}",
    "{{ items | sum }} {{ [[1], [2]] | sum(start=[]) }} {{ facts | tojson(2) }}",
    "{{ 'long text here and more' | truncate(12) }} {{ 'a long line of words' | wordwrap(6) }}",
    "|{{ 'x' | center(9) }}| {{ 'a\\nb\\nc' | indent(2, true) }}",
    "{{ 'see www.example.com' | urlize }} {{ 'a&b' | e }} {{ facts | pprint }}",
    "{{ items[1:] }} {{ hashtag[1:] }} {{ hashtag * 2 }} {{ 2 ** 10 }} {{ 7 // 2 }}",
    "{{ items + [4] }} {{ 'ab' + 'cd' }} {{ 3 * 4 }} {{ 7 % 3 }} {{ items | reverse | list }}",
    "{% set ns = namespace(n=0) %}{% for x in items %}{% set ns.n = ns.n + x %}{% endfor %}"
    "{{ ns.n }}",
    "{% for k, v in {'a': {'b': {}}}.items() recursive %}{{ k }}({{ loop(v.items()) }})"
    "{% endfor %}",
    "{{ ', '.join(release.headlines) }} {{ 'a\\tb'.expandtabs(4) }} {{ 'ab'.center(6, '*') }}",
    "{{ lipsum(2, false) }} {{ range(5) | list }} {{ items | map('string') | join('-') }}",
]


@pytest.mark.parametrize("template", ORDINARY)
def test_ordinary_templates_render_as_jinjas_sandbox_renders_them(
    tmp_path: Path, template: str
) -> None:
    # Given an ordinary template (lipsum is random: both renders start from the same seed)
    campaign = campaign_with(tmp_path, template)
    # When herald renders it, and Jinja's own sandbox renders it
    random.seed(7)
    ours = rendered(campaign)
    random.seed(7)
    theirs = reference(campaign)
    # Then the texts are the same
    assert ours == theirs


def test_the_safer_internet_day_campaign_renders_as_before() -> None:
    # Given the Safer Internet Day campaign
    result = load_campaign(SID)
    assert result.campaign is not None, result.problems
    campaign = result.campaign
    # When every delivery is rendered by herald and by Jinja's own sandbox
    plain = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
    )
    found = [d for d in deliveries(campaign) if d.key.channel == "x"]
    # Then every text is the same
    assert len(found) == 13
    for delivery in found:
        names = context(campaign, delivery.post, delivery.part)
        expected = plain.from_string(source(delivery.part, "x")).render(names).strip()
        assert delivery.render() == expected, delivery.key
