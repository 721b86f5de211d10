"""Incident categories: what a network counts its reports by (WeBM's "soort incident").

A network's list is in its settings (``[[networks.<key>.categories]]``); without one it gets
``DEFAULT_CATEGORIES``. Each category has a slug (what is stored), a name per language, and keywords per
language that suggest it from a report's text (``mail/incident.py``). The moderator has the last word;
a report nothing matches is ``other``.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

LANGUAGES = ("nl", "fr", "en", "de")
OTHER = "other"


class Category(BaseModel):
    """One kind of incident."""

    model_config = {"extra": "forbid", "frozen": True}

    slug: str = Field(pattern=r"^[a-z][a-z0-9-]{1,31}$", description="stored with each report")
    names: dict[str, str] = Field(description="display name per language: nl, fr, en (de optional)")
    keywords: dict[str, list[str]] = Field(
        default_factory=dict,
        description="per language: words (4 letters or fewer: whole words) or word starts that suggest it",
    )

    @field_validator("names")
    @classmethod
    def _names(cls, value: dict[str, str]) -> dict[str, str]:
        missing = [lang for lang in ("nl", "fr", "en") if not value.get(lang)]
        if missing:
            raise ValueError(f"a name is needed in {', '.join(missing)}")
        return value

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names["en"]


def _category(slug: str, names: tuple[str, str, str, str], **keywords: list[str]) -> Category:
    return Category(slug=slug, names=dict(zip(LANGUAGES, names, strict=True)), keywords=keywords)


#: The defaults (issue 19): theft, copper theft, burglary, suspicious vehicle, suspicious person,
#: vandalism, fraud, fire, other. Order matters for suggestions: a more specific category first
#: ("koperdiefstal" before "diefstal").
DEFAULT_CATEGORIES: tuple[Category, ...] = (
    _category(
        "copper-theft",
        ("koperdiefstal", "vol de cuivre", "copper theft", "Kupferdiebstahl"),
        nl=["koper", "koperdiefstal", "kabeldiefstal", "koperkabel"],
        fr=["cuivre", "câble de cuivre", "vol de câble"],
        en=["copper", "cable theft"],
        de=["kupfer", "kabeldiebstahl"],
    ),
    _category(
        "burglary",
        ("inbraak", "cambriolage", "burglary", "Einbruch"),
        nl=["inbraak", "ingebroken", "inbreker", "opengebroken", "braakschade", "poging tot inbraak"],
        fr=["cambriolage", "cambriol", "effraction", "fractur"],
        en=["burglary", "break-in", "broke in", "broken into", "forced entry"],
        de=["einbruch", "eingebrochen", "aufgebrochen"],
    ),
    _category(
        "theft",
        ("diefstal", "vol", "theft", "Diebstahl"),
        nl=["diefstal", "gestolen", "ontvreemd", "dief", "weggenomen"],
        fr=["un vol", "vol de", "vol d'", "volé", "voleur", "dérob"],
        en=["theft", "stolen", "thief", "stole"],
        de=["diebstahl", "gestohlen", "dieb"],
    ),
    _category(
        "suspicious-vehicle",
        ("verdacht voertuig", "véhicule suspect", "suspicious vehicle", "verdächtiges Fahrzeug"),
        nl=["bestelwagen", "voertuig", "wagen", "auto", "kenteken", "nummerplaat", "camionette", "busje"],
        fr=["véhicule", "camionnette", "voiture", "plaque"],
        en=["vehicle", "car", "licence plate", "license plate"],
        de=["fahrzeug", "transporter", "kennzeichen", "auto"],
    ),
    _category(
        "suspicious-person",
        ("verdachte persoon", "personne suspecte", "suspicious person", "verdächtige Person"),
        nl=["verdachte persoon", "verdachte personen", "man", "mannen", "persoon", "personen", "rondhang"],
        fr=["personne suspecte", "individu", "homme", "hommes"],
        en=["suspicious person", "man", "men", "loitering", "individual"],
        de=["verdächtige person", "mann", "männer"],
    ),
    _category(
        "vandalism",
        ("vandalisme", "vandalisme", "vandalism", "Vandalismus"),
        nl=["vandalisme", "vernield", "graffiti", "beschadigd", "ingegooid"],
        fr=["vandalisme", "dégradation", "graffiti"],
        en=["vandalism", "vandalised", "vandalized", "graffiti", "damaged"],
        de=["vandalismus", "beschädigt", "graffiti"],
    ),
    _category(
        "fraud",
        ("fraude", "fraude", "fraud", "Betrug"),
        nl=["fraude", "oplichting", "phishing", "valse factuur", "ceo-fraude"],
        fr=["fraude", "escroquerie", "arnaque", "hameçonnage"],
        en=["fraud", "scam", "phishing", "fake invoice"],
        de=["betrug", "phishing", "falsche rechnung"],
    ),
    _category(
        "fire",
        ("brand", "incendie", "fire", "Brand"),
        nl=["brand", "vuur", "rookontwikkeling", "brandstichting"],
        fr=["incendie", "feu", "fumée"],
        en=["fire", "arson", "smoke"],
        de=["brand", "feuer", "brandstiftung"],
    ),
    _category("other", ("andere", "autre", "other", "Sonstiges")),
)
