"""What counts as a copy saying something else than its origin (watcher/divergence.py)."""

from __future__ import annotations

from tests.corpus_copies import REAL_ORIGIN_TEXT, REAL_REPOST
from watcher.diff_unified import from_unified
from watcher.divergence import difference

ORIGIN = (
    "JAKARTA, 27 May 2026 – The Meeting welcomed Russia’s contribution of USD 5 million to the "
    "ASEAN-Russia Dialogue Partnership Financial Fund.\n\n"
    "The Meeting also “reaffirmed” the importance of the Comprehensive Plan of Action."
)


def test_what_reposting_changes_is_no_difference() -> None:
    repost = (
        "Share this page\n\nTravel Page\n\n"
        "JAKARTA, May 27, 2026: The meeting welcomed Russia's contribution of USD 5 million\n"
        "to the ASEAN-Russia Dialogue Partnership Financial Fund. The Meeting also "
        '"reaffirmed" the importance of the Comprehensive Plan of Action.\n\n'
        "Source: ASEAN Secretariat\n\nBack to top\n\nPrint this page"
    )
    assert difference(ORIGIN, repost) is None
    # the real ministry re-post, furniture and all, says what the Secretariat's release says
    assert difference(REAL_ORIGIN_TEXT, REAL_REPOST) is None


def test_a_figure_or_a_sentence_is_a_difference_with_its_context() -> None:
    found = difference(ORIGIN, ORIGIN.replace("USD 5 million", "USD 3 million"))
    assert found is not None
    [passage] = found.passages
    assert (passage.origin, passage.copy) == ("5", "3")
    # shown as the origin writes it, the words around it included
    assert passage.before == "The Meeting welcomed Russia’s contribution of USD"
    assert passage.after.startswith("million to the ASEAN-Russia Dialogue")
    edit = from_unified(found.unified())
    assert (
        edit.summary.line == "1 paragraph edited; 1 figure changed: USD 5 million → USD 3 million"
    )

    dropped = difference(ORIGIN, ORIGIN.replace(" also “reaffirmed” the importance of", ""))
    assert dropped is not None and dropped.passages[0].copy == ""


def test_a_figure_first_or_last_in_the_text_is_a_difference() -> None:
    text = "Some 1,200 delegates attended the Forum held in Jakarta on the theme of connectivity."
    assert difference(text, text.replace("1,200", "1,300")) is not None
    ending = ORIGIN + " It will meet again in 2027."
    assert difference(ending, ending.replace("2027", "2028")) is not None


def test_a_short_text_said_again_is_no_difference() -> None:
    assert difference("Text.", "Text.") is None
    assert difference("Text.", "Other.") is not None


def test_a_difference_is_known_by_its_words_not_their_place() -> None:
    figure = difference(ORIGIN, ORIGIN.replace("USD 5", "USD 3"))
    moved = difference(
        "Opening words here.\n\n" + ORIGIN,
        "Opening words here.\n\n" + ORIGIN.replace("USD 5", "USD 3"),
    )
    other = difference(ORIGIN, ORIGIN.replace("USD 5", "USD 4"))
    assert figure is not None and moved is not None and other is not None
    assert figure.key == moved.key
    assert figure.key != other.key
