"""Diffs people can read: the word marks, the collapsed paragraphs and the summary line of an
edit, as the feeds, the mail and the web view show them."""

from __future__ import annotations

import difflib
import re
from datetime import UTC, datetime

from watcher import feeds, mail
from watcher.detect import document
from watcher.models import Attachment, ChangeEntry, ChangeKind, Document
from watcher.render import (
    KEPT_WORDS,
    BlockKind,
    Mark,
    Run,
    change_diff,
    compare,
    diff_text,
    from_unified,
    inline_html,
    side_by_side_html,
    tokens,
    word_runs,
)

E, D, INS = Mark.EQUAL, Mark.DELETE, Mark.INSERT
DAY = datetime(2019, 2, 21, tzinfo=UTC)
PARAGRAPHS = [f"Paragraph {n} says something about ASEAN." for n in range(1, 11)]


def doc(*paragraphs: str, title: str = "ASEAN, Russia commit", **fields: object) -> Document:
    return Document(title, "\n\n".join(paragraphs), **fields)  # type: ignore[arg-type]


def runs(edit_runs: tuple[Run, ...]) -> list[tuple[Mark, str]]:
    return [(r.mark, r.text) for r in edit_runs]


def marks(markup: str) -> list[str]:
    """The marked words of some HTML, tags and styles aside: ['-5', '+3']."""
    return [
        ("-" if tag == "del" else "+") + text
        for tag, text in re.findall(r"<(del|ins)[^>]*>(.*?)</\1>", markup)
    ]


def test_a_changed_figure_marks_the_figure_and_nothing_else() -> None:
    edit = compare(
        doc("They pledged USD 5 million to the fund."),
        doc("They pledged USD 3 million to the fund."),
    )
    [block] = edit.blocks
    assert block.kind == BlockKind.EDITED
    assert runs(block.runs) == [
        (E, "They pledged USD "),
        (D, "5"),
        (INS, "3"),
        (E, " million to the fund."),
    ]
    assert (
        edit.summary.line == "1 paragraph edited; 1 figure changed: USD 5 million → USD 3 million"
    )
    assert marks(inline_html(edit)) == ["-5", "+3"]
    assert diff_text(edit) == ["They pledged USD [-5-]{+3+} million to the fund."]


def test_percentages_dates_and_decimals_are_figures() -> None:
    edit = compare(
        doc("Trade grew 10% to 1,500.75 tonnes by 21 February."),
        doc("Trade grew 12% to 1,600.25 tonnes by 22 February."),
    )
    assert edit.summary.figures == (("10%", "12%"), ("1,500.75", "1,600.25"), ("21", "22"))
    assert edit.summary.line == (
        "1 paragraph edited; 3 figures changed: 10% → 12%, 1,500.75 → 1,600.25, 21 → 22"
    )


def test_past_three_figures_the_line_says_how_many_more() -> None:
    edit = compare(
        doc("They sent 1 ship, 2 planes, 3 trucks, 4 trains and 5 buses."),
        doc("They sent 6 ship, 7 planes, 8 trucks, 9 trains and 10 buses."),
    )
    assert edit.summary.line == (
        "1 paragraph edited; 5 figures changed: 1 → 6, 2 → 7, 3 → 8 and 2 more"
    )


def test_a_reworded_phrase_is_one_change_not_a_figure() -> None:
    edit = compare(
        doc("They agreed on 10 points today."), doc("They agreed on twelve goals today.")
    )
    [block] = edit.blocks
    assert runs(block.runs) == [
        (E, "They agreed on "),
        (D, "10 points"),
        (INS, "twelve goals"),
        (E, " today."),
    ]
    assert edit.summary.figures == (("10 points", "twelve goals"),)


def test_added_removed_and_moved_paragraphs() -> None:
    old = doc("Opening.", "Dropped from the release.", "Moves later.", "Stays put.", "Closing.")
    new = doc(
        "Opening.", "Stays put.", "Moves later.", "A paragraph nobody saw before.", "Closing."
    )
    edit = compare(old, new, context=0)
    changed = sorted((b.kind, b.old or b.new, b.moved) for b in edit.blocks if b.kind != "hidden")
    # which of two paragraphs that swapped places counts as moved is difflib's choice
    moved = "Moves later." if ("added", "Moves later.", True) in changed else "Stays put."
    assert changed == sorted(
        [
            (BlockKind.REMOVED, "Dropped from the release.", False),
            (BlockKind.REMOVED, moved, True),
            (BlockKind.ADDED, moved, True),
            (BlockKind.ADDED, "A paragraph nobody saw before.", False),
        ]
    )
    assert [b.hidden for b in edit.blocks if b.kind == BlockKind.HIDDEN] == [1, 1, 1]
    assert edit.summary.line == "1 paragraph added; 1 paragraph removed; 1 paragraph moved"
    assert "(moved)" in inline_html(edit)
    assert "{+A paragraph nobody saw before.+}" in diff_text(edit)


def test_a_paragraph_unlike_the_one_it_replaces_is_removed_and_added() -> None:
    edit = compare(doc("Intro.", "Seventh goes away."), doc("Intro.", "A new one."))
    assert [b.kind for b in edit.blocks] == [
        BlockKind.CONTEXT,
        BlockKind.REMOVED,
        BlockKind.ADDED,
    ]


def test_a_title_only_change() -> None:
    edit = compare(
        doc(*PARAGRAPHS, title="ASEAN, Russia commit"),
        doc(*PARAGRAPHS, title="ASEAN, Russia commit to deepen cooperation"),
    )
    assert edit.summary.line == "title changed"
    assert runs(edit.title) == [(E, "ASEAN, Russia commit "), (INS, "to deepen cooperation")]
    [hidden] = edit.blocks
    assert (hidden.kind, hidden.hidden) == (BlockKind.HIDDEN, 10)
    assert "<b>Title:</b> ASEAN, Russia commit <ins" in inline_html(edit)
    assert diff_text(edit) == [
        "Title: ASEAN, Russia commit {+to deepen cooperation+}",
        "[… 10 unchanged paragraphs …]",
    ]


def test_typography_alone_is_no_change() -> None:
    old = doc("The “ASEAN–Russia” talks… it’s 5\u00a0km", title="ASEAN – Russia")
    new = doc('The "ASEAN-Russia" talks... it\'s 5 km', title="ASEAN-Russia")
    edit = compare(old, new)
    assert edit.summary.items == ()
    assert edit.summary.line == ""
    assert edit.title == ()
    assert [(b.kind, b.hidden) for b in edit.blocks] == [(BlockKind.HIDDEN, 1)]
    assert marks(inline_html(edit)) == []
    # inside an edited sentence, a retyped quote beside a real change is not marked either
    [block] = compare(doc("The “talks” had 5 rounds."), doc('The "talks" had 6 rounds.')).blocks
    assert runs(block.runs) == [(E, 'The "talks" had '), (D, "5"), (INS, "6"), (E, " rounds.")]


def test_a_date_and_attachments_are_counted_too() -> None:
    report = Attachment("https://asean.org/report.pdf", "Report")
    edit = compare(
        doc("Same.", published=DAY),
        doc("Same.", published=datetime(2019, 2, 22, tzinfo=UTC), attachments=(report,)),
    )
    assert edit.summary.line == "date changed; 1 attachment added"
    assert runs(edit.date) == [(D, "21"), (INS, "22"), (E, " February 2019")]
    assert "Attachment: {+Report <https://asean.org/report.pdf>+}" in diff_text(edit)


def test_an_attachment_s_changed_words_are_marked_under_its_label() -> None:
    url = "https://asean.org/wp-content/uploads/2026/06/Annex.pdf"
    pages = ["Annex to the Joint Statement", "Page two."]
    hanoi = Attachment(url, "Annex", "\n\n".join([*pages, "The Ministers will meet in Hanoi."]))
    manila = Attachment(url, "Annex", hanoi.text.replace("Hanoi", "Manila"))  # type: ignore[union-attr]
    added = Attachment("https://asean.org/plan.pdf", "Plan", "A text read for the first time.")
    edit = compare(doc("Same.", attachments=(hanoi,)), doc("Same.", attachments=(manila, added)))

    assert edit.summary.line == "1 attachment edited; 1 attachment added"
    [text] = edit.texts  # the added one's first text is no edit of words
    assert text.label == "Annex"
    assert [b.kind for b in text.blocks] == [BlockKind.HIDDEN, BlockKind.CONTEXT, BlockKind.EDITED]
    assert marks(inline_html(edit)) == [
        "+Plan &lt;https://asean.org/plan.pdf&gt;",
        "-Hanoi",
        "+Manila",
    ]
    assert marks(side_by_side_html(edit)) == [
        "+Plan &lt;https://asean.org/plan.pdf&gt;", "-Hanoi", "+Manila",
    ]  # fmt: skip
    assert "<b>Attachment: Annex</b>" in inline_html(edit)
    assert diff_text(edit)[-4:] == [
        "== Attachment: Annex",
        "[… 1 unchanged paragraph …]",
        "Page two.",
        "The Ministers will meet in [-Hanoi-]{+Manila+}.",
    ]
    # what the versions said, and what their stored diff says when it shows the heading
    unified = "\n".join(
        difflib.unified_diff(
            document("T", None, "Same.", (hanoi,)), document("T", None, "Same.", (manila,)),
            lineterm="", n=8,
        )
    )  # fmt: skip
    [from_diff] = from_unified(unified).texts
    assert from_diff.label == "Annex"
    assert [b.kind for b in from_diff.blocks if b.kind == BlockKind.EDITED] == [BlockKind.EDITED]


def test_unchanged_paragraphs_collapse_to_a_count_with_one_around_each_change() -> None:
    new = list(PARAGRAPHS)
    new[4] = new[4].replace("something", "nothing")
    new[5] = new[5].replace("something", "everything")
    edit = compare(doc(*PARAGRAPHS), doc(*new))
    assert [(b.kind, b.hidden) for b in edit.blocks] == [
        (BlockKind.HIDDEN, 3),
        (BlockKind.CONTEXT, 0),
        (BlockKind.EDITED, 0),
        (BlockKind.EDITED, 0),
        (BlockKind.CONTEXT, 0),
        (BlockKind.HIDDEN, 3),
    ]
    assert edit.blocks[1].new == PARAGRAPHS[3] and edit.blocks[4].new == PARAGRAPHS[6]
    assert edit.summary.line == "2 paragraphs edited"
    assert inline_html(edit).count("[… 3 unchanged paragraphs …]") == 2
    first = list(PARAGRAPHS)
    first[0] = "Paragraph 1 says nothing about ASEAN."
    assert [(b.kind, b.hidden) for b in compare(doc(*PARAGRAPHS), doc(*first)).blocks] == [
        (BlockKind.EDITED, 0),
        (BlockKind.CONTEXT, 0),
        (BlockKind.HIDDEN, 8),
    ]


def test_a_very_long_paragraph_shows_only_the_words_around_its_change() -> None:
    words = [f"word{n}" for n in range(3000)]
    old = " ".join([*words[:1500], "USD 5 million", *words[1500:]])
    new = old.replace("USD 5 million", "USD 3 million")
    edit = compare(doc(old), doc(new))
    [block] = edit.blocks
    assert block.old == old and block.new == new  # the structure keeps every word
    shown = inline_html(edit)
    assert marks(shown) == ["-5", "+3"]
    assert len(shown) < 1000
    [line] = diff_text(edit)
    assert "… word1490 word1491" in line and "word1499 USD [-5-]{+3+} million word1500" in line
    assert "word1509 …" in line and len(line.split()) < 2 * KEPT_WORDS + 6


def test_page_text_is_escaped_in_every_rendering() -> None:
    old = doc('Hello <b>5</b> & "friends"', title="<script>alert(1)</script> talks")
    new = doc(
        'Hello <b>6</b> & "friends" <img src=x onerror=alert(1)>',
        title="<script>alert(1)</script> talks held",
    )
    edit = compare(old, new)
    for markup in (inline_html(edit), side_by_side_html(edit)):
        assert "<script" not in markup and "<img" not in markup and "<b>5" not in markup
        assert "&lt;script&gt;" in markup and "&lt;img src=x onerror=alert(1)&gt;" in markup
        assert set(re.findall(r"</?([a-z]+)", markup)) <= {
            "p", "b", "i", "del", "ins", "small", "br", "table", "tr", "th", "td",
        }  # fmt: skip


def test_side_by_side_puts_what_was_taken_out_left_and_what_was_put_in_right() -> None:
    edit = compare(doc("Intro.", "They met 5 times."), doc("Intro.", "They met 3 times."))
    rows = re.findall(r"<tr>(.*?)</tr>", side_by_side_html(edit))
    assert rows[0] == "<th>Before</th><th>After</th>"
    left, right = re.findall(r"<td>(.*?)</td>", rows[-1])
    assert marks(left) == ["-5"] and marks(right) == ["+3"]
    assert rows[1] == "<td>Intro.</td><td>Intro.</td>"


def test_vietnamese_words_are_whole_and_compared_as_written() -> None:
    assert tokens("Việt Nam") == ["Việt", " ", "Nam"]
    decomposed = "Vie\u0323\u0302t"  # the same word in combining marks: still one word
    assert tokens(f"{decomposed} Nam")[0] == decomposed
    assert runs(word_runs("Hà Nội, Viet Nam", "Hà Nội, Việt Nam")) == [
        (E, "Hà Nội, "),
        (D, "Viet"),
        (INS, "Việt"),
        (E, " Nam"),
    ]


def test_a_stored_unified_diff_reads_back_as_the_same_edit() -> None:
    """Changes whose versions are not at hand are shown from their diff, alike."""
    old = doc(*PARAGRAPHS, title="Talks", published=DAY)
    new_paragraphs = list(PARAGRAPHS)
    new_paragraphs[6] = "Paragraph 9 says something about ASEAN."
    new = doc(*new_paragraphs, title="Talks held", published=DAY)
    diff = "\n".join(
        difflib.unified_diff(
            document(old.title, old.published, old.text, ()),
            document(new.title, new.published, new.text, ()),
            lineterm="",
            n=1,
        )
    )
    from_diff, from_versions = from_unified(diff), compare(old, new)
    assert from_diff.summary == from_versions.summary
    assert from_diff.summary.line == "title changed; 1 paragraph edited; 1 figure changed: 7 → 9"
    # detect's diffs keep one line around a change: the blank line, not the paragraph
    assert [b.kind for b in from_diff.blocks] == [BlockKind.HIDDEN, BlockKind.EDITED]
    assert from_diff.blocks[1].runs == from_versions.blocks[2].runs
    assert from_diff.blocks[0].hidden is None  # a diff does not say how many
    assert "[…]" in inline_html(from_diff)


def test_feed_and_mail_say_the_same_line_for_an_edit() -> None:
    entry = ChangeEntry(
        uid="u",
        kind=ChangeKind.EDITED,
        source="asean",
        release_id=1,
        url="https://asean.org/x/",
        title="Talks held",
        detected_at=DAY,
        feed_date=DAY,
        published=DAY,
        diff="(not read: the versions are)",
        html="",
        baseline=False,
        topics=("russia",),
        before=doc("They pledged USD 5 million.", title="Talks"),
        after=doc("They pledged USD 3 million.", title="Talks held"),
    )
    edit = change_diff(entry)
    assert edit is not None
    line = "title changed; 1 paragraph edited; 1 figure changed: USD 5 million → USD 3 million"
    assert edit.summary.line == line
    assert f"<p><b>{line}</b></p>" in feeds.entry_html(entry)
    message = mail.compose_instant(
        mail.Envelope("w <w@example.org>", ("a@example.org",), "UTC"),
        topic_titles={"russia": "ASEAN–Russia"},
        entry=entry,
        now=DAY,
        message_id="<m@x>",
    )
    plain = message.get_body(("plain",))
    page = message.get_body(("html",))
    assert plain is not None and page is not None
    text = plain.get_content()
    assert f"   {line}\n   Title: Talks {{+held+}}\n" in text
    assert "   They pledged USD [-5-]{+3+} million." in text
    assert f"<p><b>{line}</b></p>" in page.get_content()
