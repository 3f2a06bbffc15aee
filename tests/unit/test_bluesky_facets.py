"""Bluesky facets are found in the rendered text and point at its UTF-8 bytes exactly, on
texts with emoji, combining marks and non-Latin scripts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from herald.channels.bluesky_facets import Kind, facets, find_spans, first_link, handles


def covered(text: str, start: int, end: int) -> str:
    return text.encode("utf-8")[start:end].decode("utf-8")


@pytest.mark.parametrize(
    ("text", "kind", "written", "value"),
    [
        ("Read https://example.org/a?b=1 now", Kind.LINK, "https://example.org/a?b=1", None),
        ("👨‍👩‍👧‍👦 family: https://example.org/😀x.", Kind.LINK, "https://example.org/😀x", None),
        ("Cafe\u0301 #SaferInternetDay!", Kind.TAG, "#SaferInternetDay", "SaferInternetDay"),
        ("नमस्ते दुनिया #सुरक्षा today", Kind.TAG, "#सुरक्षा", "सुरक्षा"),
        ("日本語のテキスト ＃安全 です", Kind.TAG, "＃安全", "安全"),
        ("مرحبا @alice.bsky.social.", Kind.MENTION, "@alice.bsky.social", "alice.bsky.social"),
        ("(https://example.org/Foo_(bar))", Kind.LINK, "https://example.org/Foo_(bar)", None),
        ("(see https://example.org/page)", Kind.LINK, "https://example.org/page", None),
    ],
)  # fmt: skip
def test_each_span_covers_what_is_written_in_utf8_bytes(
    text: str, kind: Kind, written: str, value: str | None
) -> None:
    # When the text's spans are found
    (span,) = [s for s in find_spans(text) if s.kind is kind]

    # Then its byte range is exactly what was written, and it carries the right value
    assert covered(text, span.byte_start, span.byte_end) == written
    assert text[span.start : span.end] == written
    assert span.value == (value if value is not None else written)


@pytest.mark.parametrize(
    ("text", "written", "uri"),
    [
        ("Report at herts.police.uk/contact or call 101.", "herts.police.uk/contact",
         "https://herts.police.uk/contact"),
        ("(see example.org)", "example.org", "https://example.org"),
        ("Mehr: beispiel.de/seite. Danke", "beispiel.de/seite", "https://beispiel.de/seite"),
        ("🔺 internetmatters.org", "internetmatters.org", "https://internetmatters.org"),
    ],
)  # fmt: skip
def test_a_bare_domain_with_a_real_top_level_domain_is_a_link_with_https(
    text: str, written: str, uri: str
) -> None:
    # When a text names a site without its scheme, as press releases do
    [span] = find_spans(text)
    # Then the link covers what is written and carries the full https:// URI, as the
    # Bluesky app makes it (so it is clickable, not plain text)
    assert (span.kind, covered(text, span.byte_start, span.byte_end)) == (Kind.LINK, written)
    assert span.value == uri


def test_the_sid_thread_links_its_bare_addresses() -> None:
    # Given the release's own words in the how-to-report thread
    text = (
        "You can report information to the police online at herts.police.uk.report, use "
        "online webchat at herts.police.uk/contact or call the non-emergency number 101."
    )
    # Then both addresses are links, as the Bluesky app would make them
    assert [s.value for s in find_spans(text)] == [
        "https://herts.police.uk.report",
        "https://herts.police.uk/contact",
    ]


def test_the_sid_launch_text_has_its_tag_and_link_where_they_are() -> None:
    text = (
        "Today is #SaferInternetDay. This year's theme is 'together for a better internet' 🔺 "
        "https://www.herts.police.uk/news-and-appeals/police-and-partners-show-their-support"
    )
    spans = find_spans(text)
    assert [(s.kind, covered(text, s.byte_start, s.byte_end)) for s in spans] == [
        (Kind.TAG, "#SaferInternetDay"),
        (Kind.LINK, "https://www.herts.police.uk/news-and-appeals/police-and-partners-show-their-support"),
    ]  # fmt: skip
    link = spans[1]
    assert link.byte_start == len(text[: text.index("https")].encode("utf-8"))
    assert link.byte_start != text.index("https")  # the 🔺 is 4 bytes but 1 character


@pytest.mark.parametrize(
    "text",
    [
        "email me at press@herts.police.uk",  # an address, not a mention
        "@HertsPolice on X",  # no dot: an X handle
        "issue #123 and #2021",  # digits only
        "#️⃣ keycap",  # the keycap emoji
        "file.txt, e.g. Node.js and v2.0: no top-level domain of IANA's",
        "EXAMPLE.ORG in capitals (the app's check is on the lower-case list)",
        "@someone.txt is not a handle",
        "https://",
        "a#b in the middle of a word",
    ],
)
def test_what_is_not_a_link_tag_or_mention_stays_plain(text: str) -> None:
    assert find_spans(text) == []


def test_a_tag_or_mention_inside_a_link_is_part_of_the_link() -> None:
    text = "https://example.org/#top https://example.org/@alice.bsky.social"
    assert [s.kind for s in find_spans(text)] == [Kind.LINK, Kind.LINK]


def test_a_tag_longer_than_64_graphemes_is_not_a_tag() -> None:
    assert find_spans("#" + "a" * 65) == []
    assert [s.value for s in find_spans("#" + "é" * 64)] == ["é" * 64]


def test_mentions_become_facets_only_when_their_did_is_known() -> None:
    # Given a text naming two handles, one of which resolved
    text = "Thanks @Alice.bsky.social and @nobody.example.org 🎉"
    spans = find_spans(text)
    assert handles(spans) == ["alice.bsky.social", "nobody.example.org"]

    # When facets are built with the one DID found
    built = facets(spans, {"alice.bsky.social": "did:plc:alice"})

    # Then the resolved one is a mention facet over "@Alice.bsky.social"; the other stays text
    assert built == [
        {
            "$type": "app.bsky.richtext.facet",
            "index": {"byteStart": 7, "byteEnd": 25},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:alice"}],
        }
    ]


def test_link_and_tag_features_carry_the_full_uri_and_the_bare_tag() -> None:
    built = facets(find_spans("#Ünïcode https://example.org/x"), {})
    assert [f["features"][0] for f in built] == [
        {"$type": "app.bsky.richtext.facet#tag", "tag": "Ünïcode"},
        {"$type": "app.bsky.richtext.facet#link", "uri": "https://example.org/x"},
    ]
    assert first_link("no link #here") is None
    assert first_link("a https://a.example/1 b https://b.example/2") == "https://a.example/1"


pieces = st.sampled_from(
    ["word", " ", "#tag", "https://example.org/p", "@alice.bsky.social", "🔺", "é", "e\u0301",
     "👨‍👩‍👧", "नमस्ते", "(", ")", ".", "\n", "＃タグ", "🇬🇧"]
)  # fmt: skip


@given(st.lists(pieces, max_size=30).map("".join))
def test_facets_always_lie_inside_the_text_on_character_boundaries_without_overlap(
    text: str,
) -> None:
    size = len(text.encode("utf-8"))
    spans = find_spans(text)
    previous_end = 0
    for span in spans:
        assert 0 <= span.byte_start < span.byte_end <= size
        assert span.byte_start >= previous_end
        assert covered(text, span.byte_start, span.byte_end) == text[span.start : span.end]
        previous_end = span.byte_end
