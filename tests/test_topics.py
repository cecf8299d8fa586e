"""Topics: which releases match, the presets' precision, the folded form, fingerprints."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from watcher.topics import (
    PRESETS,
    Match,
    Topic,
    fold_for_match,
    make_topic,
    match,
    topic_fingerprint,
    validate_term,
)

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "asean"

PARTNERS = {
    "australia",
    "canada",
    "china",
    "european-union",
    "india",
    "japan",
    "republic-of-korea",
    "new-zealand",
    "russia",
    "united-kingdom",
    "united-states",
}
MEMBERS = {
    "brunei-darussalam",
    "cambodia",
    "indonesia",
    "lao-pdr",
    "malaysia",
    "myanmar",
    "philippines",
    "singapore",
    "thailand",
    "viet-nam",
    "timor-leste",
}


def preset(slug: str) -> Topic:
    return make_topic(slug.split("/")[1], preset=slug)


def terms(*any_terms: str, **options: Any) -> Topic:
    return make_topic("t", any=any_terms, **options)


def in_body(topic: Topic, body: str) -> Match | None:
    return match(topic, title="ASEAN news", body=body)


# --- the presets the issue names -------------------------------------------------------------


def test_russia_preset_matches_the_real_release() -> None:
    text = (FIXTURE / "release-asean-russia-2019-mfa-repost.txt").read_text(encoding="utf-8")
    title, _, body = text.partition("\n")
    found = match(preset("partner/russia"), title=title, body=body)
    assert found is not None
    assert found.terms == ("Russia", "Russian Federation", "Russian", "ASEAN-Russia")


@pytest.mark.parametrize(
    ("title", "reported"),
    [
        ("Deputy Minister of the Russian Federation visits the Secretariat", "Russian Federation"),
        ("ASEAN–Russia Summit opens in Jakarta", "ASEAN-Russia"),
        ("ASEAN — Russia senior officials meet", "ASEAN-Russia"),
        ("Russians and ASEAN youth exchange", "Russians"),
        ("Russia’s contribution to the ASEAN Regional Forum", "Russia"),
    ],
)
def test_russia_preset_matches_titles(title: str, reported: str) -> None:
    found = match(preset("partner/russia"), title=title, body="")
    assert found is not None
    assert reported in found.terms


@pytest.mark.parametrize(
    "text",
    [
        "ASEAN and Belarus discuss trade; the Belarusian delegation attended.",
        "Officials rush to finalise the ASEAN Economic Community blueprint.",
        "A rush of applications for the ASEAN scholarship.",
        "A history of Prussia and Prussian administration.",
    ],
)
def test_russia_preset_refuses(text: str) -> None:
    assert match(preset("partner/russia"), title=text, body=text) is None


@pytest.mark.parametrize(
    "text",
    [
        "ASEAN Foreign Ministers on the DPRK's missile launches.",
        "Statement on North Korea and North Korean missile tests; North Koreans abroad.",
        "The Democratic People’s Republic of Korea joined the ARF in 2000.",
        "The Democratic Peoples Republic of Korea joined the ARF in 2000.",
        "A DPR Korea delegation attended.",
        "Peace and stability on the Korean Peninsula.",
    ],
)
def test_rok_preset_refuses_the_dprk(text: str) -> None:
    assert match(preset("partner/republic-of-korea"), title=text, body=text) is None


@pytest.mark.parametrize(
    ("text", "reported"),
    [
        ("North Korea was discussed with the Republic of Korea.", ("Republic of Korea", "Korea")),
        ("The DPRK and the ROK", ("ROK",)),
        ("South Korean investors and North Korean defectors", ("South Korean", "Korean")),
        ("ASEAN-Korea Centre", ("Korea",)),
    ],
)
def test_rok_preset_accepts_the_rok_beside_the_dprk(text: str, reported: tuple[str, ...]) -> None:
    found = in_body(preset("partner/republic-of-korea"), text)
    assert found is not None
    assert found.terms == reported


@pytest.mark.parametrize(
    ("slug", "refused", "accepted"),
    [
        ("partner/india", "Cooperation in the Indian Ocean.", "India and the Indian Ocean."),
        ("partner/india", "A delegation from Indiana.", "Indians living in ASEAN."),
        ("partner/european-union", "Eurasia and the Eurasian Economic Union.", "The EU and ASEAN."),
        ("partner/european-union", "Europe is far.", "ASEAN–EU ministers meet."),
        ("partner/united-states", "ASEAN and Latin America.", "ASEAN and America."),
        ("partner/united-states", "South American and North American markets.", "U.S. support."),
        ("partner/united-states", "The project costs US$ 5 million.", "USA and ASEAN."),
        ("partner/united-states", "Join us: it costs 2 million U.S. dollars.", "ASEAN-US Summit"),
        ("partner/united-states", "Let us work together.", "US-ASEAN Business Council"),
        ("partner/united-states", "The Inter-American Development Bank.", "American experts"),
        ("partner/china", "Code of Conduct in the South China Sea.", "People’s Republic of China"),
        ("partner/china", "Chinese Taipei at APEC.", "Chinese tourists"),
        ("partner/japan", "Japanese encephalitis vaccination.", "Japanese investment"),
        ("partner/united-kingdom", "British Columbia and New Britain.", "The U.K. and ASEAN"),
        ("member/timor-leste", "A visit to West Timor.", "Timor Leste's accession"),
        ("member/timor-leste", "The Timor Sea.", "East Timorese students"),
        ("member/thailand", "Thai Binh and Thai Nguyen provinces.", "Thai rice exports"),
        ("member/lao-pdr", "Lào Cai province.", "The Lao government"),
        ("member/viet-nam", "Vientiane hosts the summit.", "Việt Nam hosts the summit"),
        ("member/malaysia", "The Malay Peninsula.", "Malaysian delegates"),
        ("member/brunei-darussalam", "Dar es Salaam, Tanzania.", "Bruneian students"),
    ],
)
def test_preset_precision(slug: str, refused: str, accepted: str) -> None:
    topic = preset(slug)
    assert in_body(topic, refused) is None
    assert in_body(topic, accepted) is not None


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("Viet Nam", "Việt Nam"),
        ("Việt Nam", "Viet Nam"),
        ("Hà Nội", "Meeting in Ha Noi"),
        ("Ha Noi", "Meeting in Hà Nội"),
        ("Da Nang", "Đà Nẵng"),
        ("Timor-Leste", "Timór-Leste"),
    ],
)
def test_diacritics_fold_both_ways(term: str, text: str) -> None:
    found = in_body(terms(term), text)
    assert found == Match(terms=(term,))


# --- every preset ---------------------------------------------------------------------------


def test_presets_cover_exactly_the_partners_and_members() -> None:
    assert set(PRESETS) == {f"partner/{s}" for s in PARTNERS} | {f"member/{s}" for s in MEMBERS}
    for slug, entry in PRESETS.items():
        assert entry.slug == slug
        assert entry.name
        assert entry.terms


PRESET_TERMS = [(slug, term) for slug, entry in PRESETS.items() for term in entry.terms]
NOT_COUNTED = [(slug, phrase) for slug, entry in PRESETS.items() for phrase in entry.not_counted]


@pytest.mark.parametrize(("slug", "term"), PRESET_TERMS)
def test_every_preset_term_matches_a_sentence_with_it(slug: str, term: str) -> None:
    validate_term(term)
    found = in_body(preset(slug), f"Officials said that {term} will attend tomorrow.")
    assert found is not None
    assert term in found.terms


@pytest.mark.parametrize(("slug", "phrase"), NOT_COUNTED)
def test_every_not_counted_phrase_alone_does_not_match(slug: str, phrase: str) -> None:
    validate_term(phrase)
    topic = preset(slug)
    assert in_body(topic, f"Officials said that {phrase} will attend tomorrow.") is None
    # ... and it does contain one of the preset's terms, or listing it would be pointless
    assert in_body(dataclasses.replace(topic, not_counted=()), phrase) is not None


@pytest.mark.parametrize("slug", sorted(PRESETS))
def test_preset_terms_are_distinct_once_folded(slug: str) -> None:
    folded = [fold_for_match(term) for term in PRESETS[slug].terms]
    assert len(folded) == len(set(folded))


@pytest.mark.parametrize(
    "text", ["Officials said that ASEAN will attend tomorrow.", "The meeting was held in Jakarta."]
)
def test_no_preset_matches_a_neutral_sentence(text: str) -> None:
    assert [slug for slug in PRESETS if in_body(preset(slug), text)] == []


# --- matching rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "text", "matches"),
    [
        ("Russia", "Prussia", False),
        ("Russia", "Russian", False),
        ("Russia", "Russia.", True),
        ("Russia", "ASEAN-Russia", True),
        ("EU", "Eurasia", False),
        ("EU", "the EU's position", True),
        ("India", "Indiana", False),
        ("India", "INDIA", True),
        ("Republic of Korea", "Republic of Koreas", False),
        ("U.S.", "U.S.-ASEAN", True),
        ("U.S.", "bu.s.", False),
        ("ASEAN-Russia", "ASEAN Russia", False),
    ],
)
def test_whole_words_and_phrases(term: str, text: str, matches: bool) -> None:
    assert (in_body(terms(term), text) is not None) is matches


@pytest.mark.parametrize(
    "text",
    [
        "ASEAN-Russia",
        "ASEAN–Russia",
        "ASEAN—Russia",
        "ASEAN – Russia",
        "ASEAN - Russia",
        "ASEAN‑Russia",  # non-breaking hyphen
        "ASEAN\u00a0–\u00a0Russia",
    ],
)
@pytest.mark.parametrize("term", ["ASEAN-Russia", "ASEAN–Russia", "ASEAN – Russia"])
def test_dash_variants_alike(term: str, text: str) -> None:
    assert in_body(terms(term), f"The {text} Summit") == Match(terms=(term,))


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("People's Republic of China", "the People’s Republic of China"),
        ("People’s Republic of China", "the People's Republic of China"),
        ("Republic of Korea", "the Republic\u00a0of\nKorea"),
        ("Republic of Korea", "the Republic  of \t Korea"),
        ("Timor Lorosa'e", "Timor Lorosaʼe"),
    ],
)
def test_quotes_and_whitespace_folded(term: str, text: str) -> None:
    assert in_body(terms(term), text) is not None


def test_folded_form() -> None:
    folded = fold_for_match("Hà Nội — ĐÀ NẴNG:\u00a0“People’s”  ASEAN – Russia\nStraße")
    assert folded == 'ha noi-da nang: "people\'s" asean-russia strasse'


@pytest.mark.parametrize(
    ("term", "text", "matches"),
    [
        ("/russi(a|ans?)/", "RUSSIANS", True),
        ("/russi(a|ans?)/", "Belarus", False),
        ("/viet nam/", "Việt Nam", True),  # regexes see the folded text: no diacritics
        ("/asean-russia/", "ASEAN – Russia", True),  # ... dashes as "-" without spaces
        ("/RUSSIA/", "russia", True),  # ... lowercase, and matched ignoring case anyway
        ("/people's/", "People’s", True),
        ("/\\bkorea\\b/", "Koreans", False),
    ],
)
def test_regex_terms(term: str, text: str, matches: bool) -> None:
    found = in_body(terms(term), text)
    assert (found is not None) is matches
    if found is not None:
        assert found.terms == (term,)  # reported as written


@pytest.mark.parametrize(
    ("term", "reason"),
    [
        ("", "a term is empty"),
        ("   ", "a term is empty"),
        ("/[/", "/[/ is not a valid regular expression: "),
        ("//", "// is an empty regular expression"),
        ("/a*/", "/a*/ matches an empty text"),
        ("-", "'-' has no letter or digit"),
        ("/", "'/' has no letter or digit"),
    ],
)
def test_validate_term_rejects(term: str, reason: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(reason)):
        validate_term(term)


@pytest.mark.parametrize("term", ["Russia", "ASEAN–Russia", "U.S.", "/russi(a|an)/", "G20"])
def test_validate_term_accepts(term: str) -> None:
    validate_term(term)


def test_a_topic_built_by_hand_reports_its_bad_regex() -> None:
    with pytest.raises(ValueError, match="not a valid regular expression"):
        match(Topic(name="x", title="x", any=("/(/",)), title="", body="")


def test_not_counted_masks_occurrences_inside_phrases() -> None:
    topic = dataclasses.replace(terms("Korea"), not_counted=("North Korea",))
    assert in_body(topic, "North Korea") is None
    assert in_body(topic, "North Korea, then Korea") == Match(terms=("Korea",))
    # without the phrase, the same text matches
    assert in_body(dataclasses.replace(topic, not_counted=()), "North Korea") is not None


def test_a_term_that_is_a_not_counted_phrase_still_counts() -> None:
    # a user who adds an excluded phrase to a preset topic means it
    topic = make_topic("k", preset="partner/republic-of-korea", any=["Korean Peninsula"])
    assert in_body(topic, "Peace on the Korean Peninsula") == Match(terms=("Korean Peninsula",))


def test_none_is_a_veto() -> None:
    topic = make_topic("russia", preset="partner/russia", none=["Russian roulette"])
    assert in_body(topic, "Russia and a game of Russian roulette") is None
    assert in_body(topic, "Russia and a game of roulette") == Match(terms=("Russia",))


def test_none_follows_not_counted() -> None:
    # "North Korea" as a veto fires although the preset does not count it as the ROK ...
    vetoed = make_topic("k", preset="partner/republic-of-korea", none=["North Korea"])
    assert in_body(vetoed, "The Republic of Korea and North Korea") is None
    # ... while a veto word inside a not_counted phrase does not
    topic = make_topic("k", preset="partner/republic-of-korea", none=["Peninsula"])
    found = in_body(topic, "The ROK and the Korean Peninsula")
    assert found == Match(terms=("ROK",))
    assert in_body(topic, "The ROK and the Malay Peninsula") is None


def test_all_terms_must_every_one_match() -> None:
    topic = make_topic("energy", preset="partner/russia", all=["energy", "/cooperat(e|ion)/"])
    assert in_body(topic, "Russia and energy") is None
    assert in_body(topic, "energy cooperation") is None
    found = in_body(topic, "Energy cooperation with the Russian Federation")
    assert found == Match(terms=("Russian Federation", "Russian", "energy", "/cooperat(e|ion)/"))


def test_all_alone_is_enough() -> None:
    topic = make_topic("both", all=["Japan", "Korea"])
    assert in_body(topic, "Japan") is None
    assert in_body(topic, "Korea and Japan") == Match(terms=("Japan", "Korea"))


@pytest.mark.parametrize(
    ("fields", "in_title", "in_body_"),
    [(("title",), True, False), (("body",), False, True), (("title", "body"), True, True)],
)
def test_fields(fields: tuple[str, ...], in_title: bool, in_body_: bool) -> None:
    topic = make_topic("r", any=["Russia"], fields=fields)
    assert (match(topic, title="Russia", body="nothing") is not None) is in_title
    assert (match(topic, title="nothing", body="Russia") is not None) is in_body_


def test_a_phrase_does_not_span_title_and_body() -> None:
    topic = terms("Russian Federation")
    assert match(topic, title="ASEAN and Russian", body="Federation of chambers") is None


def test_match_terms_in_topic_order_deduplicated() -> None:
    topic = make_topic("t", any=["Moscow", "Russia", "Kremlin"], all=["Russia", "ASEAN"])
    found = in_body(topic, "ASEAN in the Kremlin; Russia; Moscow; Kremlin again")
    assert found == Match(terms=("Moscow", "Russia", "Kremlin", "ASEAN"))


# --- make_topic -----------------------------------------------------------------------------


def test_make_topic_merges_the_preset() -> None:
    topic = make_topic(
        "russia",
        title="ASEAN–Russia",
        preset="partner/russia",
        any=["Moscow", "Russia"],
        none=["Russian roulette"],
        fields=["title"],
    )
    assert topic == Topic(
        name="russia",
        title="ASEAN–Russia",
        any=(*PRESETS["partner/russia"].terms, "Moscow"),
        none=("Russian roulette",),
        not_counted=(),
        fields=("title",),
    )
    assert make_topic("k", preset="partner/republic-of-korea").not_counted == (
        PRESETS["partner/republic-of-korea"].not_counted
    )


@pytest.mark.parametrize(
    ("preset_slug", "expected"), [("partner/russia", "Russian Federation"), (None, "mine")]
)
def test_make_topic_title_defaults(preset_slug: str | None, expected: str) -> None:
    assert make_topic("mine", preset=preset_slug, any=["x"]).title == expected


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"preset": "partner/atlantis"},
            "'partner/atlantis' is not a preset (see `watcher topics presets`)",
        ),
        ({}, "topic 't' has no terms"),
        ({"any": ["/[/"]}, "topic 't': /[/ is not a valid regular expression"),
        ({"any": ["x"], "none": [""]}, "topic 't': a term is empty"),
        ({"any": ["x"], "fields": ["summary"]}, "topic 't': fields must be among title, body"),
        ({"any": ["x"], "fields": []}, "topic 't': fields must be among title, body"),
    ],
)
def test_make_topic_rejects(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        make_topic("t", **options)  # type: ignore[arg-type]


def test_a_topic_without_terms_matches_nothing() -> None:
    assert match(Topic(name="x", title="x", any=()), title="Russia", body="Russia") is None


# --- fingerprints ---------------------------------------------------------------------------


BASE = make_topic("russia", preset="partner/russia", any=["Moscow"], none=["roulette"])


@pytest.mark.parametrize(
    "changed",
    [
        dataclasses.replace(BASE, any=(*BASE.any, "Kremlin")),
        dataclasses.replace(BASE, any=BASE.any[:-1]),
        dataclasses.replace(BASE, any=tuple(reversed(BASE.any))),  # reported order changes
        dataclasses.replace(BASE, all=("energy",)),
        dataclasses.replace(BASE, none=()),
        dataclasses.replace(BASE, not_counted=("White Russia",)),
        dataclasses.replace(BASE, fields=("title",)),
    ],
)
def test_fingerprint_changes_with_what_matches(changed: Topic) -> None:
    assert topic_fingerprint(changed) != topic_fingerprint(BASE)


@pytest.mark.parametrize(
    "same",
    [
        make_topic("russia", preset="partner/russia", any=["Moscow"], none=["roulette"]),
        dataclasses.replace(BASE, title="Something else"),
        dataclasses.replace(BASE, name="renamed"),
        dataclasses.replace(BASE, fields=("body", "title")),
    ],
)
def test_fingerprint_stable_otherwise(same: Topic) -> None:
    assert topic_fingerprint(same) == topic_fingerprint(BASE)
    assert len(topic_fingerprint(same)) == 32
    int(topic_fingerprint(same), 16)


def test_a_term_ending_in_a_full_stop_is_still_a_whole_word() -> None:
    topic = make_topic("us", preset="partner/united-states")
    assert match(topic, title="Talks with the U.S. delegation", body="") is not None
    assert match(topic, title="History of the U.S.S.R. and ASEAN", body="") is None
