"""Built-in CSS selectors for known site themes.

A profile says where the article is on a page, so that menus, sidebars and footers (which change
on every page at once) never count as an edit of a release.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

# Blocks that are never part of an article, whatever the theme.
COMMON_EXCLUDES = (
    "script",
    "style",
    "noscript",
    "template",
    "form",
    "nav",
    "header",
    "footer",
    "aside",
    ".sharedaddy",
    ".jp-relatedposts",
    ".addtoany_share_save_container",
    ".screen-reader-text",
)


@dataclass(frozen=True, slots=True)
class Selectors:
    item: str | None = None  # listing: one element per release, a link or containing one
    next: str | None = None  # listing: the link to the next page
    title: str | None = None
    date: str | None = None
    content: str | None = None  # the article region; several selectors tried in order
    exclude: tuple[str, ...] = ()
    day_first: bool | None = None  # 05/02/2019 is 5 February (None: month first)

    def merged(self, override: Selectors) -> Selectors:
        """`override`'s set fields win; exclusions add up."""
        return replace(
            self,
            item=override.item or self.item,
            next=override.next or self.next,
            title=override.title or self.title,
            date=override.date or self.date,
            content=override.content or self.content,
            exclude=tuple(dict.fromkeys(self.exclude + override.exclude)),
            day_first=self.day_first if override.day_first is None else override.day_first,
        )


# WordPress's usual markup (classic themes, block themes, and the bare minimum).
WORDPRESS = Selectors(
    item="article h2 a, article h3 a, h2.entry-title a, .wp-block-post-title a",
    next="a.next.page-numbers, a.next, .nav-previous a, link[rel=next]",
    title="h1.entry-title, .wp-block-post-title, article h1, h1",
    date="time[datetime], meta[property='article:published_time']",
    content=".entry-content, .wp-block-post-content, article",
    exclude=COMMON_EXCLUDES,
)

# asean.org since its 2021 Elementor redesign (what is known of its markup: items are `article > a`,
# the date is a link to the day archive /YYYY/MM/DD/, and a site-wide "ABOUT ASEAN" footer
# shares the `.elementor-widget-container` class with the article body).
ASEAN = Selectors(
    item="article > a[href]",
    next="a.page-numbers.next",
    # then WordPress's usual markup, should a page come in another template
    title=(
        ".elementor-widget-theme-post-title h1, .elementor-widget-theme-post-title h2, "
        "h1.entry-title, .wp-block-post-title"
    ),
    date=".elementor-widget-post-info a[href], time[datetime]",
    content=".elementor-widget-theme-post-content, .entry-content",
    exclude=(*COMMON_EXCLUDES, ".elementor-location-header", ".elementor-location-footer"),
)

PROFILES: dict[str, Selectors] = {"asean": ASEAN, "wordpress": WORDPRESS}
