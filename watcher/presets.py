"""Built-in topic presets: every ASEAN Dialogue Partner and every ASEAN member state.

Terms are matched as whole words and phrases after folding (case, diacritics, dashes, quotes: see
watcher.topics), so "Viet Nam" already covers "Việt Nam" and "ASEAN–Russia" covers "ASEAN - Russia".
A plural or a demonym is a separate word, so each is listed. Nothing that names something else is a
term: capitals ("Washington", "Moscow") and bare "US" (the pronoun "us") stay out; users who want
them add them to their topic's `any`.

`not_counted` lists phrases that contain a term but do not mean the country. They are mostly
geography and other states named after it ("Indian Ocean", "North Korea", "Latin America"). A
topic that lists such a phrase among its own terms still matches it (see watcher.topics).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Preset:
    slug: str  # "partner/russia", "member/viet-nam"
    name: str  # as ASEAN writes it: "Russian Federation", "Lao PDR"
    terms: tuple[str, ...]  # words and phrases that mean it
    not_counted: tuple[str, ...] = ()  # phrases that contain a term but do not mean it


_PRESETS = (
    # ASEAN Dialogue Partners
    Preset(
        "partner/australia",
        "Australia",
        terms=("Australia", "Australian", "Australians", "Commonwealth of Australia"),
    ),
    Preset("partner/canada", "Canada", terms=("Canada", "Canadian", "Canadians")),
    Preset(
        "partner/china",
        "China",
        terms=("China", "Chinese", "People's Republic of China", "PRC"),
        # seas and Indochina are geography; Chinese Taipei is not the PRC
        not_counted=(
            "South China Sea",
            "East China Sea",
            "Indo-China",
            "Chinese Taipei",
            "Chinese New Year",
        ),
    ),
    Preset("partner/european-union", "European Union", terms=("European Union", "EU", "E.U.")),
    Preset(
        "partner/india",
        "India",
        terms=("India", "Indian", "Indians", "Republic of India", "Bharat"),
        not_counted=(
            "Indian Ocean",
            "West Indian",
            "West Indians",
            "American Indian",
            "American Indians",
        ),
    ),
    Preset(
        "partner/japan",
        "Japan",
        terms=("Japan", "Japanese"),
        not_counted=("Sea of Japan", "Japanese encephalitis"),  # a sea; a disease (health news)
    ),
    Preset(
        "partner/republic-of-korea",
        "Republic of Korea",
        terms=(
            "Republic of Korea",
            "ROK",
            "South Korea",
            "South Korean",
            "South Koreans",
            "Korea",
            "Korean",
            "Koreans",
        ),
        # the DPRK under each of its names; the peninsula is where both Koreas are
        not_counted=(
            "North Korea",
            "North Korean",
            "North Koreans",
            "Democratic People's Republic of Korea",
            "Democratic Peoples Republic of Korea",
            "DPR Korea",
            "D.P.R. Korea",
            "Korean Peninsula",
        ),
    ),
    Preset(
        "partner/new-zealand",
        "New Zealand",
        terms=("New Zealand", "New Zealander", "New Zealanders", "NZ", "Aotearoa"),
    ),
    Preset(
        "partner/russia",
        "Russian Federation",
        terms=("Russia", "Russian Federation", "Russian", "Russians", "ASEAN-Russia"),
    ),
    Preset(
        "partner/united-kingdom",
        "United Kingdom",
        terms=(
            "United Kingdom",
            "United Kingdom of Great Britain and Northern Ireland",
            "UK",
            "U.K.",
            "Britain",
            "Great Britain",
            "British",
            "Briton",
            "Britons",
        ),
        not_counted=("British Columbia", "New Britain"),  # a Canadian province; a PNG island
    ),
    Preset(
        "partner/united-states",
        "United States",
        terms=(
            "United States",
            "United States of America",
            "U.S.",
            "U.S.A.",
            "USA",
            "America",
            "American",
            "Americans",
            # bare "US" is the pronoun "us"; it is counted only joined to ASEAN
            "ASEAN-US",
            "US-ASEAN",
        ),
        # the other Americas, and prices in dollars
        not_counted=(
            "Latin America",
            "Latin American",
            "Latin Americans",
            "South America",
            "South American",
            "South Americans",
            "Central America",
            "Central American",
            "Central Americans",
            "North America",
            "North American",
            "North Americans",
            "Inter-American",
            "Pan-American",
            "U.S.$",
            "U.S. dollar",
            "U.S. dollars",
            "United States dollar",
            "United States dollars",
        ),
    ),
    # ASEAN member states
    Preset(
        "member/brunei-darussalam",
        "Brunei Darussalam",
        terms=(
            "Brunei Darussalam",
            "Brunei",
            "Negara Brunei Darussalam",
            "Bruneian",
            "Bruneians",
        ),
    ),
    Preset(
        "member/cambodia",
        "Cambodia",
        terms=("Cambodia", "Cambodian", "Cambodians", "Kingdom of Cambodia"),
    ),
    Preset(
        "member/indonesia",
        "Indonesia",
        terms=("Indonesia", "Indonesian", "Indonesians", "Republic of Indonesia"),
    ),
    Preset(
        "member/lao-pdr",
        "Lao PDR",
        terms=(
            "Lao PDR",
            "Lao People's Democratic Republic",
            "Laos",
            "Lao",
            "Laotian",
            "Laotians",
        ),
        not_counted=("Lao Cai",),  # a province of Viet Nam (Lào Cai)
    ),
    Preset("member/malaysia", "Malaysia", terms=("Malaysia", "Malaysian", "Malaysians")),
    Preset(
        "member/myanmar",
        "Myanmar",
        terms=("Myanmar", "Republic of the Union of Myanmar", "Burma", "Burmese"),
    ),
    Preset(
        "member/philippines",
        "Philippines",
        terms=(
            "Philippines",
            "Republic of the Philippines",
            "Philippine",
            "Filipino",
            "Filipinos",
            "Filipina",
            "Filipinas",
            "Pilipinas",
        ),
    ),
    Preset(
        "member/singapore",
        "Singapore",
        terms=("Singapore", "Singaporean", "Singaporeans", "Republic of Singapore"),
    ),
    Preset(
        "member/thailand",
        "Thailand",
        terms=("Thailand", "Thai", "Thais", "Kingdom of Thailand"),
        not_counted=("Thai Binh", "Thai Nguyen"),  # provinces of Viet Nam (Thái Bình, Thái Nguyên)
    ),
    Preset(
        "member/viet-nam",
        "Viet Nam",
        terms=("Viet Nam", "Vietnam", "Vietnamese", "Socialist Republic of Viet Nam"),
    ),
    Preset(
        "member/timor-leste",
        "Timor-Leste",
        terms=(
            "Timor-Leste",
            "Timor Leste",
            "Democratic Republic of Timor-Leste",
            "Timor Lorosa'e",
            "East Timor",
            "East Timorese",
            "Timorese",
        ),
        # bare "Timor" is not a term: West Timor is Indonesia, the Timor Sea is a sea
        not_counted=("West Timorese",),
    ),
)

PRESETS: dict[str, Preset] = {preset.slug: preset for preset in _PRESETS}
