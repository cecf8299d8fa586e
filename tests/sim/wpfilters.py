"""WordPress's text filters: what the_title, the_content, the excerpt and the feed templates do
to text, with WordPress's rules and in its order (shortcodes, smilies and blocks left out: the
tests write plain text)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from html.entities import name2codepoint
from urllib.parse import quote

_SP = r"[\r\n\t \xa0]|&nbsp;"  # wp_spaces_regexp()
_AFTER_SP = r"(?:(?<=[\r\n\t \xa0])|(?<=&nbsp;))"  # one lookbehind per width
_NOT_AFTER_SP = r"(?<![\r\n\t \xa0])(?<!&nbsp;)"
_CLOSER = rf"(?=\Z|[.,:;!?)}}\-\]]|&gt;|{_SP})"
_APOS, _OPEN_SQ, _OPEN_Q = "<!--apos-->", "<!--osq-->", "<!--oq-->"
_COCKNEY = [
    "'tain't",
    "'twere",
    "'twas",
    "'tis",
    "'twill",
    "'til",
    "'bout",
    "'nuff",
    "'round",
    "'cause",
    "'em",
]
_STATIC = [
    ("...", "&#8230;"),
    ("``", "&#8220;"),
    ("''", "&#8221;"),
    (" (tm)", " &#8482;"),
    *((word, word.replace("'", "&#8217;")) for word in _COCKNEY),
]
_APOS_RULES = [
    (re.compile(rf"'(\d\d)'{_CLOSER}"), rf"{_APOS}\1&#8217;"),
    (re.compile(rf"'(\d\d)\"{_CLOSER}"), rf"{_APOS}\1&#8221;"),
    (re.compile(r"'(?=\d\d(?:\Z|(?![%\d]|[.,]\d)))"), _APOS),
    (re.compile(rf"(?:\A|{_AFTER_SP})'(\d[.,\d]*)'"), rf"{_OPEN_SQ}\1&#8217;"),
    (re.compile(rf"(?:\A|(?<=[(\[{{\"\-])|(?<=&lt;)|{_AFTER_SP})'"), _OPEN_SQ),
    (re.compile(rf"{_NOT_AFTER_SP}'(?!\Z|[.,:;!?\"'(){{}}\[\]\-]|&[lg]t;|{_SP})"), _APOS),
]
_QUOTE_RULES = [
    (re.compile(rf"(?:\A|{_AFTER_SP})\"(\d[.,\d]*)\""), rf"{_OPEN_Q}\1&#8221;"),
    (re.compile(rf"(?:\A|(?<=[(\[{{\-])|(?<=&lt;)|{_AFTER_SP})\"(?!{_SP})"), _OPEN_Q),
]
_DASH_RULES = [
    (re.compile(r"---"), "&#8212;"),
    (re.compile(rf"(?:\A|{_AFTER_SP})--(?=$|{_SP})"), "&#8212;"),
    (re.compile(r"(?<!xn)--"), "&#8211;"),
    (re.compile(rf"(?:\A|{_AFTER_SP})-(?=$|{_SP})"), "&#8211;"),
]
_LONE_AMPERSAND = re.compile(r"&(?!#(?:\d+|x[a-f0-9]+);|[a-z1-4]{1,8};)", re.IGNORECASE)
_TEXTURIZE_SPLIT = re.compile(r"(<!--.*?(?:-->|\Z)|<[^>]*>?)", re.DOTALL)
_NO_TEXTURIZE = {"pre", "code", "kbd", "style", "script", "tt"}


@lru_cache(maxsize=4096)
def wptexturize(text: str) -> str:
    """Curly quotes, apostrophes, primes, dashes, ellipses, x and & -> &#038;, outside tags and
    outside <pre>, <code>, <kbd>, <style>, <script> and <tt>."""
    if not text:
        return text
    stack: list[str] = []
    out: list[str] = []
    for part in _TEXTURIZE_SPLIT.split(text):
        if not part:
            continue
        if part.startswith("<!--"):
            out.append(part)
        elif part.startswith("<"):
            out.append(_LONE_AMPERSAND.sub("&#038;", part))
            _push_pop(part, stack)
        elif not part.strip(" \t\n\r\0\x0b") or stack:
            out.append(part)
        else:
            out.append(_texturize_text(part))
    return "".join(out)


def _push_pop(tag: str, stack: list[str]) -> None:
    closing = tag[1:2] == "/"
    if closing and not stack:
        return
    start = 2 if closing else 1
    name = tag[start : tag.index(" ")] if " " in tag else tag[start:-1]
    if name not in _NO_TEXTURIZE:
        return
    if not closing:
        stack.append(name)
    elif stack[-1] == name:
        stack.pop()


def _texturize_text(text: str) -> str:
    for typed, shown in _STATIC:
        text = text.replace(typed, shown)
    if "'" in text:
        for pattern, replacement in _APOS_RULES:
            text = pattern.sub(replacement, text)
        text = _primes(text, "'", "&#8242;", _OPEN_SQ, "&#8217;")
        text = text.replace(_APOS, "&#8217;").replace(_OPEN_SQ, "&#8216;")
    if '"' in text:
        for pattern, replacement in _QUOTE_RULES:
            text = pattern.sub(replacement, text)
        text = _primes(text, '"', "&#8243;", _OPEN_Q, "&#8221;")
        text = text.replace(_OPEN_Q, "&#8220;")
    if "-" in text:
        for pattern, replacement in _DASH_RULES:
            text = pattern.sub(replacement, text)
    if re.search(r"(?<=\d)x\d", text):  # 9x9, but never 0x9999
        text = re.sub(r"\b(0[\d.,]+|[1-9][\d.,]*)x(\d[\d.,]*)\b", r"\1&#215;\2", text)
    return _LONE_AMPERSAND.sub("&#038;", text)


def _primes(text: str, needle: str, prime: str, open_quote: str, close_quote: str) -> str:
    """wptexturize_primes: after a digit a quote is a prime (9' 9"), unless it closes a quote
    opened earlier in the sentence."""
    flag = "<!--wp-prime-or-quote-->"
    quote_pattern = re.compile(re.escape(needle) + _CLOSER)
    prime_pattern = re.compile(rf"(?<=\d){re.escape(needle)}")
    sentences = text.split(open_quote)
    for index, sentence in enumerate(sentences):
        if needle not in sentence:
            continue
        if index != 0 and close_quote not in sentence:
            sentence, count = quote_pattern.subn(flag, sentence)
            if count > 1:
                sentence, replaced = re.subn(rf"(?<!\d){re.escape(flag)}", close_quote, sentence)
                if replaced == 0:
                    at = sentence.rfind(f"{flag}.")
                    at = at if at >= 0 else sentence.rfind(flag)
                    sentence = sentence[:at] + close_quote + sentence[at + len(flag) :]
                sentence = prime_pattern.sub(prime, sentence)
                sentence = re.sub(rf"(?<=\d){re.escape(flag)}", prime, sentence)
                sentence = sentence.replace(flag, close_quote)
            elif count == 1:
                sentence = prime_pattern.sub(prime, sentence.replace(flag, close_quote))
            else:
                sentence = prime_pattern.sub(prime, sentence)
        else:
            sentence = quote_pattern.sub(close_quote, prime_pattern.sub(prime, sentence))
        if needle == '"':
            sentence = sentence.replace('"', close_quote)
        sentences[index] = sentence
    return open_quote.join(sentences)


_BLOCKS = (
    r"(?:table|thead|tfoot|caption|col|colgroup|tbody|tr|td|th|div|dl|dd|dt|ul|ol|li|pre|form"
    r"|map|area|blockquote|address|math|style|p|h[1-6]|hr|fieldset|legend|section|article"
    r"|aside|hgroup|header|footer|nav|figure|figcaption|details|menu|summary)"
)
_HTML_SPLIT = re.compile(r"(<!--.*?(?:-->|\Z)|<!\[CDATA\[.*?(?:\]\]>|\Z)|<[^>]*>?)", re.DOTALL)


@lru_cache(maxsize=4096)
def wpautop(text: str) -> str:
    """Blank-line separated blocks become paragraphs, other newlines <br />; block elements
    stay unwrapped and <pre> is left alone."""
    if not text.strip():
        return ""
    text += "\n"
    pre_tags: dict[str, str] = {}
    if "<pre" in text:
        *parts, last = text.split("</pre>")
        text = ""
        for number, part in enumerate(parts):
            start = part.find("<pre")
            if start < 0:
                text += part
                continue
            name = f"<pre wp-pre-tag-{number}></pre>"
            pre_tags[name] = part[start:] + "</pre>"
            text += part[:start] + name
        text += last
    text = re.sub(r"<br\s*/?>\s*<br\s*/?>", "\n\n", text)
    text = re.sub(rf"(<{_BLOCKS}[\s/>])", r"\n\n\1", text)
    text = re.sub(rf"(</{_BLOCKS}>)", r"\1\n\n", text)
    text = re.sub(r"(<hr\s*?/?>)", r"\1\n\n", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    pieces = _HTML_SPLIT.split(text)
    for index in range(1, len(pieces), 2):
        pieces[index] = pieces[index].replace("\n", " <!-- wpnl --> ")
    text = "".join(pieces)
    if "<figcaption" in text:
        text = re.sub(r"\s*(<figcaption[^>]*>)", r"\1", text)
        text = re.sub(r"</figcaption>\s*", "</figcaption>", text)
    text = re.sub(r"\n\n+", "\n\n", text)
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p]
    text = "".join(f"<p>{p.strip(chr(10))}</p>\n" for p in paragraphs)
    text = re.sub(r"<p>\s*</p>", "", text)
    text = re.sub(r"<p>([^<]+)</(div|address|form)>", r"<p>\1</p></\2>", text)
    text = re.sub(rf"<p>\s*(</?{_BLOCKS}[^>]*>)\s*</p>", r"\1", text)
    text = re.sub(r"<p>(<li.+?)</p>", r"\1", text)
    text = re.sub(r"<p><blockquote([^>]*)>", r"<blockquote\1><p>", text, flags=re.IGNORECASE)
    text = text.replace("</blockquote></p>", "</p></blockquote>")
    text = re.sub(rf"<p>\s*(</?{_BLOCKS}[^>]*>)", r"\1", text)
    text = re.sub(rf"(</?{_BLOCKS}[^>]*>)\s*</p>", r"\1", text)
    text = re.sub(
        r"<(script|style|svg).*?</\1>",
        lambda m: m.group(0).replace("\n", "<WPPreserveNewline />"),
        text,
        flags=re.DOTALL,
    )
    text = text.replace("<br>", "<br />").replace("<br/>", "<br />")
    text = re.sub(r"(?<!<br />)\s*\n", "<br />\n", text)
    text = text.replace("<WPPreserveNewline />", "\n")
    text = re.sub(rf"(</?{_BLOCKS}[^>]*>)\s*<br />", r"\1", text)
    text = re.sub(r"<br />(\s*</?(?:p|li|div|dl|dd|dt|th|pre|td|ul|ol)[^>]*>)", r"\1", text)
    text = re.sub(r"\n</p>$", "</p>", text)
    for name, original in pre_tags.items():
        text = text.replace(name, original)
    return text.replace(" <!-- wpnl --> ", "\n").replace("<!-- wpnl -->", "\n")


def convert_chars(text: str) -> str:
    return re.sub(r"&([^#])(?![a-z1-4]{1,8};)", r"&#038;\1", text, flags=re.IGNORECASE)


def ent2ncr(text: str) -> str:
    """Named entities as numeric ones, which XML knows without a DTD."""

    def numeric(match: re.Match[str]) -> str:
        code = name2codepoint.get(match.group(1))
        return f"&#{code};" if code else match.group(0)

    return re.sub(r"&([a-zA-Z][a-zA-Z0-9]*);", numeric, text)


_NAMED = "|".join(sorted(name2codepoint, key=len, reverse=True))
_STRAY_AMPERSAND = re.compile(rf"&(?!#\d+;|#x[0-9a-fA-F]+;|(?:{_NAMED});)")


def esc_html(text: str) -> str:
    """esc_html: <, >, quotes and stray & escaped; entities already there are kept."""
    text = re.sub(r"&#0*(\d+);", lambda m: f"&#{int(m.group(1)):03d};", text)
    text = _STRAY_AMPERSAND.sub("&amp;", text)
    for char, entity in (("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#039;")):
        text = text.replace(char, entity)
    return text


def strip_tags(text: str) -> str:
    """PHP's strip_tags: a "<" followed by whitespace is text, anything else opens a tag."""
    return re.sub(r"<(?!\s)[^>]*(?:>|\Z)", "", text)


def wp_strip_all_tags(text: str) -> str:
    text = re.sub(r"<(script|style)[^>]*?>.*?</\1>", "", text, flags=re.DOTALL | re.IGNORECASE)
    return strip_tags(text).strip(" \t\n\r\0\x0b")


def wp_trim_words(text: str, words: int, more: str) -> str:
    found = [w for w in re.split(r"[\n\r\t ]+", wp_strip_all_tags(text)) if w]
    if len(found) > words:
        return " ".join(found[:words]) + more
    return " ".join(found)


@lru_cache(maxsize=4096)
def the_content(raw: str) -> str:
    html_text = wpautop(wptexturize(raw))
    # wp_filter_content_tags: images are decoded asynchronously since 6.1.
    return re.sub(r"<img(?![^>]*\bdecoding=)", '<img decoding="async"', html_text)


def the_title(raw: str) -> str:
    return convert_chars(wptexturize(raw)).strip(" \t\n\r\0\x0b")


def sanitize_title(title: str) -> str:
    """The slug WordPress makes of a title (remove_accents, then sanitize_title_with_dashes)."""
    text = strip_tags(title)
    # kses stores a stray & as &amp;, and the slug drops every entity.
    text = re.sub(r"&(?!#\d+;|#x[0-9a-f]+;|[a-z][a-z0-9]*;)", "&amp;", text, flags=re.IGNORECASE)
    text = "".join(
        c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)
    ).lower()
    for dash in ("\xa0", "\u2013", "\u2014", "&nbsp;", "&#160;", "&ndash;", "&#8211;", "&mdash;"):
        text = text.replace(dash, "-")
    text = text.replace("&#8212;", "-").replace("/", "-").replace("\xd7", "x")
    # Soft hyphens, inverted marks, angle and curly quotes, bullets, (c) (r) deg ... (tm).
    text = re.sub(
        "[\xad\xa1\xbf\xab\xbb\u2039\u203a\u2018-\u201f\u2022\xa9\xae\xb0\u2026\u2122]", "", text
    )
    text = re.sub(r"&.+?;", "", text).replace(".", "-")
    text = "".join(c if ord(c) < 128 else quote(c).lower() for c in text)
    text = re.sub(r"[^%a-z0-9 _-]", "", text)
    text = re.sub(r"-+", "-", re.sub(r"\s+", "-", text)).strip("-")
    return text[:200]
