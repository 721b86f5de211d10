"""The words save-relay writes inside its mails, per network language (nl, fr, en, de). Pure, no database.

A plain dict per language rather than gettext: the texts are few, short and parametrised by name, they
must exist for every language (a test renders each one in each language), and a reviewer reads all
four side by side here. Codes, never English sentences, travel between the parser and the mail that
answers: :class:`Refusal` is what :func:`save_relay.mail.commands.parse_commands` returns, and
:func:`reason_text` renders it in the network's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, TypeAlias

Language: TypeAlias = Literal["nl", "fr", "en", "de"]
LANGUAGES: tuple[Language, ...] = ("nl", "fr", "en", "de")
DEFAULT_LANGUAGE: Language = "en"

ParamValue: TypeAlias = str | int | tuple[str, ...]


class Reason(StrEnum):
    """Why a reply was not carried out. Parameters each reason takes are in its comment."""

    EMPTY_REPLY = "empty_reply"  # -
    UNKNOWN_COMMAND = "unknown_command"  # text: the first line (shortened)
    UNKNOWN_FIELD = "unknown_field"  # name: the field name as written
    QUESTION = "question"  # text
    NEGATION = "negation"  # text
    BARE_NO = "bare_no"  # word: "nee", "non", "no", "nein"
    BOTH_APPROVE_AND_REJECT = "both_approve_and_reject"  # -
    EDIT_WITHOUT_TEXT = "edit_without_text"  # -
    EMPTY_LIST = "empty_list"  # field: a field key (zones, groups)
    TOO_MANY_ITEMS = "too_many_items"  # field, limit
    NOT_ALLOWED = "not_allowed"  # command: a command key (withdraw, approve, ...)
    INVALID_LOCATION = "invalid_location"  # value
    MISSING_DETAILS = "missing_details"  # fields: field keys
    # A moderator's reply that the checks refuse (moderation/confirm.py, decide.py):
    UNKNOWN_TOKEN = "unknown_token"  # noqa: S105 - a reason code, no secret
    OTHER_MODERATOR = "other_moderator"  # -
    NOT_MODERATOR = "not_moderator"  # -
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 - a reason code, no secret
    ALREADY_DECIDED = "already_decided"  # reference, by, at
    REPORT_GONE = "report_gone"  # -
    OTHER_REFERENCE = "other_reference"  # reference, named
    AUTOMATIC = "automatic"  # -
    UNKNOWN_ZONES = "unknown_zones"  # names
    UNKNOWN_GROUPS = "unknown_groups"  # names
    NO_TARGETS = "no_targets"  # -
    # A report withdrawn by its reporter (moderation/withdraw.py), and the reporter's reply address:
    WITHDRAWN = "withdrawn"  # reference, at
    NOT_REPORTER = "not_reporter"  # -
    WITHDRAW_TOO_LATE = "withdraw_too_late"  # reference
    UNKNOWN_FOLLOWUP = "unknown_followup"  # address: the network's address
    # The incident fields (categorie:, tijdstip:, plaats:, oefening):
    EMPTY_VALUE = "empty_value"  # field
    INVALID_YES_NO = "invalid_yes_no"  # field, value
    UNKNOWN_CATEGORY = "unknown_category"  # value, known: the network's category names
    INVALID_TIME = "invalid_time"  # value
    UNKNOWN_PLACE = "unknown_place"  # value
    AMBIGUOUS_PLACE = "ambiguous_place"  # value, names
    # TLP labels and four-eyes approval (moderation/labels.py, moderation/foureyes.py):
    INVALID_TLP = "invalid_tlp"  # value
    TLP_CONSENT_ASKED = "tlp_consent_asked"  # label, floor: the reporter was asked to agree
    TLP_NO_CONSENT = "tlp_no_consent"  # label, floor: no reporter to ask
    RED_NEEDS_RECIPIENTS = "red_needs_recipients"  # -
    RED_NO_ZONES = "red_no_zones"  # -
    RECIPIENTS_ONLY_RED = "recipients_only_red"  # -
    INVALID_RECIPIENTS = "invalid_recipients"  # names
    STRICT_EXTERNAL_GROUPS = "strict_external_groups"  # names
    SAME_MODERATOR = "same_moderator"  # reference, by
    # canvasses
    NO_LOCATION = "no_location"  # company: a subscriber named as the spot has no location
    CANVASS_NOT_SCHEDULED = "canvass_not_scheduled"  # number, status: only a scheduled one is cancelled


class Removed(StrEnum):
    """Kinds of text the preview removes from a report (see :mod:`save_relay.mail.preview`)."""

    SIGNATURE = "signature"
    MOBILE_FOOTER = "mobile_footer"
    NAME = "name"
    COMPANY = "company"
    STREET = "street"
    PHONE = "phone"
    EMAIL = "email"
    WEBSITE = "website"


@dataclass(frozen=True, slots=True)
class Refusal:
    """A reason code and its parameters; render it with :func:`reason_text`."""

    code: Reason
    params: tuple[tuple[str, ParamValue], ...] = ()

    @classmethod
    def of(cls, code: Reason, **params: ParamValue) -> Refusal:
        return cls(code, tuple(sorted(params.items())))

    @property
    def param_map(self) -> dict[str, ParamValue]:
        return dict(self.params)


#: The line above which a reply to our mails is read; :mod:`save_relay.mail.commands` knows all four.
REPLY_MARKER: dict[Language, str] = {
    "nl": "----- save-relay: antwoord boven deze lijn -----",
    "fr": "----- save-relay: répondez au-dessus de cette ligne -----",
    "en": "----- save-relay: reply above this line -----",
    "de": "----- save-relay: oberhalb dieser Linie antworten -----",
}

#: What replaces an identifying mention inside a sentence of a preview.
REMOVED_MARKER: dict[Language, str] = {
    "nl": "[verwijderd]",
    "fr": "[supprimé]",
    "en": "[removed]",
    "de": "[entfernt]",
}

#: Field keys (of moderator commands and of subscription details) as a reader of each language names them.
FIELD_NAMES: dict[Language, dict[str, str]] = {
    "nl": {
        "zones": "zones",
        "groups": "groepen",
        "company": "bedrijf",
        "contact": "naam",
        "street": "adres",
        "location": "locatie",
        "category": "categorie",
        "time": "tijdstip",
        "place": "plaats",
        "exercise": "oefening",
        "tlp": "tlp",
        "recipients": "ontvangers",
    },
    "fr": {
        "zones": "zones",
        "groups": "groupes",
        "company": "entreprise",
        "contact": "nom",
        "street": "adresse",
        "location": "lieu",
        "category": "catégorie",
        "time": "moment",
        "place": "lieu",
        "exercise": "exercice",
        "tlp": "tlp",
        "recipients": "destinataires",
    },
    "en": {
        "zones": "zones",
        "groups": "groups",
        "company": "company",
        "contact": "name",
        "street": "address",
        "location": "location",
        "category": "category",
        "time": "time",
        "place": "place",
        "exercise": "exercise",
        "tlp": "tlp",
        "recipients": "recipients",
    },
    "de": {
        "zones": "Zonen",
        "groups": "Gruppen",
        "company": "Firma",
        "contact": "Name",
        "street": "Adresse",
        "location": "Ort",
        "category": "Kategorie",
        "time": "Zeitpunkt",
        "place": "Ort",
        "exercise": "Übung",
        "tlp": "tlp",
        "recipients": "Empfänger",
    },
}

#: Command keys as the moderator would type them (for NOT_ALLOWED and hints).
COMMAND_NAMES: dict[Language, dict[str, str]] = {
    "nl": {
        "approve": "ok",
        "reject": "afwijzen",
        "edit": "bewerk",
        "credit": "vermeld",
        "withdraw": "intrekken",
    },
    "fr": {
        "approve": "ok",
        "reject": "rejeter",
        "edit": "modifier",
        "credit": "citer",
        "withdraw": "retirer",
    },
    "en": {"approve": "ok", "reject": "reject", "edit": "edit", "credit": "credit", "withdraw": "withdraw"},
    "de": {
        "approve": "ok",
        "reject": "ablehnen",
        "edit": "bearbeiten",
        "credit": "nennen",
        "withdraw": "zurückziehen",
    },
}

REMOVED_KINDS: dict[Language, dict[Removed, str]] = {
    "nl": {
        Removed.SIGNATURE: "handtekening",
        Removed.MOBILE_FOOTER: "voettekst van de mailapp",
        Removed.NAME: "naam",
        Removed.COMPANY: "bedrijfsnaam",
        Removed.STREET: "adres",
        Removed.PHONE: "telefoonnummer",
        Removed.EMAIL: "e-mailadres",
        Removed.WEBSITE: "website",
    },
    "fr": {
        Removed.SIGNATURE: "signature",
        Removed.MOBILE_FOOTER: "pied de page de l'application mail",
        Removed.NAME: "nom",
        Removed.COMPANY: "nom de l'entreprise",
        Removed.STREET: "adresse",
        Removed.PHONE: "numéro de téléphone",
        Removed.EMAIL: "adresse e-mail",
        Removed.WEBSITE: "site web",
    },
    "en": {
        Removed.SIGNATURE: "signature",
        Removed.MOBILE_FOOTER: "mail app footer",
        Removed.NAME: "name",
        Removed.COMPANY: "company name",
        Removed.STREET: "address",
        Removed.PHONE: "phone number",
        Removed.EMAIL: "e-mail address",
        Removed.WEBSITE: "website",
    },
    "de": {
        Removed.SIGNATURE: "Signatur",
        Removed.MOBILE_FOOTER: "Fußzeile der Mail-App",
        Removed.NAME: "Name",
        Removed.COMPANY: "Firmenname",
        Removed.STREET: "Adresse",
        Removed.PHONE: "Telefonnummer",
        Removed.EMAIL: "E-Mail-Adresse",
        Removed.WEBSITE: "Website",
    },
}

REASONS: dict[Language, dict[Reason, str]] = {
    "nl": {
        Reason.EMPTY_REPLY: "het antwoord bevat geen opdracht",
        Reason.UNKNOWN_COMMAND: (
            "'{text}' is geen opdracht; zet alleen 'ok' of 'afwijzen <reden>' op de eerste regel"
        ),
        Reason.UNKNOWN_FIELD: "onbekend veld '{name}'",
        Reason.QUESTION: "'{text}' is een vraag, geen opdracht; er is niets uitgevoerd",
        Reason.NEGATION: "'{text}' bevat een ontkenning; om af te wijzen: 'afwijzen <reden>'",
        Reason.BARE_NO: "'{word}' alleen is geen opdracht; om af te wijzen: 'afwijzen <reden>'",
        Reason.BOTH_APPROVE_AND_REJECT: "zowel goedkeuren als afwijzen gevraagd",
        Reason.EDIT_WITHOUT_TEXT: "'bewerk' zonder nieuwe tekst eronder",
        Reason.EMPTY_LIST: "{field}: niets opgegeven",
        Reason.TOO_MANY_ITEMS: "{field}: meer dan {limit} opgegeven",
        Reason.NOT_ALLOWED: "'{command}' is hier niet toegestaan",
        Reason.INVALID_LOCATION: "locatie '{value}' is geen 'breedtegraad, lengtegraad' in graden",
        Reason.MISSING_DETAILS: "nog nodig: {fields}",
        Reason.UNKNOWN_TOKEN: "onbekend antwoordadres: antwoord op een recente melding",
        Reason.OTHER_MODERATOR: "dit antwoordadres werd naar een andere moderator gestuurd",
        Reason.NOT_MODERATOR: "de afzender is geen moderator (meer) van dit netwerk",
        Reason.TOKEN_EXPIRED: "dit antwoordadres is vervallen",
        Reason.ALREADY_DECIDED: "{reference} werd al behandeld door {by} op {at}",
        Reason.REPORT_GONE: "de melding bestaat niet meer",
        Reason.OTHER_REFERENCE: "dit antwoordadres hoort bij {reference}, niet bij {named}",
        Reason.AUTOMATIC: "automatisch antwoord genegeerd",
        Reason.UNKNOWN_ZONES: "onbekende zone(s): {names}",
        Reason.UNKNOWN_GROUPS: "onbekende groep(en): {names}",
        Reason.NO_TARGETS: "geen zones of groepen om naar te versturen: voeg 'zones: ...' toe",
        Reason.WITHDRAWN: "{reference} werd op {at} door de melder ingetrokken en wordt niet verspreid",
        Reason.NOT_REPORTER: (
            "alleen het adres waarnaar de ontvangstbevestiging ging, kan de melding intrekken; "
            "er is niets gewijzigd"
        ),
        Reason.WITHDRAW_TOO_LATE: "{reference} werd al behandeld en kan niet meer ingetrokken worden",
        Reason.UNKNOWN_FOLLOWUP: (
            "dit antwoordadres is onbekend of vervallen; uw bericht werd niet doorgestuurd. "
            "Een nieuwe melding stuurt u naar {address}"
        ),
        Reason.EMPTY_VALUE: "{field}: niets opgegeven",
        Reason.INVALID_YES_NO: "{field}: '{value}' is geen ja of nee",
        Reason.UNKNOWN_CATEGORY: "onbekende categorie '{value}'; gekend zijn: {known}",
        Reason.INVALID_TIME: (
            "tijdstip '{value}' niet begrepen (of na de ontvangst van de melding); "
            "schrijf bv. 'tijdstip: 21/11 03:00'"
        ),
        Reason.UNKNOWN_PLACE: (
            "plaats '{value}' is geen 'breedtegraad, lengtegraad', gekende deelnemer of zone"
        ),
        Reason.AMBIGUOUS_PLACE: (
            "plaats '{value}' kan meerdere deelnemers zijn: {names}; schrijf de volledige naam"
        ),
    },
    "fr": {
        Reason.EMPTY_REPLY: "la réponse ne contient aucune commande",
        Reason.UNKNOWN_COMMAND: (
            "« {text} » n'est pas une commande ; écrivez seulement « ok » ou « rejeter <motif> » "
            "sur la première ligne"
        ),
        Reason.UNKNOWN_FIELD: "champ inconnu « {name} »",
        Reason.QUESTION: "« {text} » est une question, pas une commande ; rien n'a été fait",
        Reason.NEGATION: "« {text} » contient une négation ; pour refuser : « rejeter <motif> »",
        Reason.BARE_NO: "« {word} » seul n'est pas une commande ; pour refuser : « rejeter <motif> »",
        Reason.BOTH_APPROVE_AND_REJECT: "approbation et rejet demandés à la fois",
        Reason.EDIT_WITHOUT_TEXT: "« modifier » sans nouveau texte en dessous",
        Reason.EMPTY_LIST: "{field} : rien d'indiqué",
        Reason.TOO_MANY_ITEMS: "{field} : plus de {limit} indiqués",
        Reason.NOT_ALLOWED: "« {command} » n'est pas permis ici",
        Reason.INVALID_LOCATION: "le lieu « {value} » n'est pas « latitude, longitude » en degrés",
        Reason.MISSING_DETAILS: "encore nécessaire : {fields}",
        Reason.UNKNOWN_TOKEN: "adresse de réponse inconnue : répondez à une notification récente",
        Reason.OTHER_MODERATOR: "cette adresse de réponse a été envoyée à un autre modérateur",
        Reason.NOT_MODERATOR: "l'expéditeur n'est pas (plus) modérateur de ce réseau",
        Reason.TOKEN_EXPIRED: "cette adresse de réponse a expiré",
        Reason.ALREADY_DECIDED: "{reference} a déjà été traité par {by} le {at}",
        Reason.REPORT_GONE: "le signalement n'existe plus",
        Reason.OTHER_REFERENCE: "cette adresse de réponse concerne {reference}, pas {named}",
        Reason.AUTOMATIC: "réponse automatique ignorée",
        Reason.UNKNOWN_ZONES: "zone(s) inconnue(s) : {names}",
        Reason.UNKNOWN_GROUPS: "groupe(s) inconnu(s) : {names}",
        Reason.NO_TARGETS: "aucune zone ni groupe destinataire : ajoutez « zones: ... »",
        Reason.WITHDRAWN: "{reference} a été retiré par son auteur le {at} et ne sera pas diffusé",
        Reason.NOT_REPORTER: (
            "seule l'adresse à laquelle l'accusé de réception a été envoyé peut retirer le signalement ; "
            "rien n'a été modifié"
        ),
        Reason.WITHDRAW_TOO_LATE: "{reference} a déjà été traité et ne peut plus être retiré",
        Reason.UNKNOWN_FOLLOWUP: (
            "cette adresse de réponse est inconnue ou a expiré ; votre message n'a pas été transmis. "
            "Envoyez un nouveau signalement à {address}"
        ),
        Reason.EMPTY_VALUE: "{field} : rien d'indiqué",
        Reason.INVALID_YES_NO: "{field} : « {value} » n'est ni oui ni non",
        Reason.UNKNOWN_CATEGORY: "catégorie inconnue « {value} » ; catégories connues : {known}",
        Reason.INVALID_TIME: (
            "moment « {value} » non compris (ou postérieur à la réception du signalement) ; "
            "écrivez par ex. « moment: 21/11 03:00 »"
        ),
        Reason.UNKNOWN_PLACE: (
            "le lieu « {value} » n'est ni « latitude, longitude », ni un participant ni une zone connus"
        ),
        Reason.AMBIGUOUS_PLACE: (
            "le lieu « {value} » peut désigner plusieurs participants : {names} ; écrivez le nom complet"
        ),
    },
    "en": {
        Reason.EMPTY_REPLY: "the reply holds no command",
        Reason.UNKNOWN_COMMAND: (
            "'{text}' is not a command; put only 'ok' or 'reject <reason>' on the first line"
        ),
        Reason.UNKNOWN_FIELD: "unknown field '{name}'",
        Reason.QUESTION: "'{text}' is a question, not a command; nothing was done",
        Reason.NEGATION: "'{text}' holds a negation; to reject, write 'reject <reason>'",
        Reason.BARE_NO: "'{word}' alone is not a command; to reject, write 'reject <reason>'",
        Reason.BOTH_APPROVE_AND_REJECT: "both approve and reject given",
        Reason.EDIT_WITHOUT_TEXT: "'edit' without new text below it",
        Reason.EMPTY_LIST: "{field}: none given",
        Reason.TOO_MANY_ITEMS: "{field}: more than {limit} given",
        Reason.NOT_ALLOWED: "'{command}' is not allowed here",
        Reason.INVALID_LOCATION: "location '{value}' is not 'latitude, longitude' in degrees",
        Reason.MISSING_DETAILS: "still needed: {fields}",
        Reason.UNKNOWN_TOKEN: "unknown reply address: reply to a current notification",
        Reason.OTHER_MODERATOR: "this reply address was sent to another moderator",
        Reason.NOT_MODERATOR: "the sender is not (or no longer) a moderator of this network",
        Reason.TOKEN_EXPIRED: "this reply address has expired",
        Reason.ALREADY_DECIDED: "{reference} was already decided by {by} at {at}",
        Reason.REPORT_GONE: "the report no longer exists",
        Reason.OTHER_REFERENCE: "this reply address belongs to {reference}, not to {named}",
        Reason.AUTOMATIC: "automatic reply ignored",
        Reason.UNKNOWN_ZONES: "unknown zone(s): {names}",
        Reason.UNKNOWN_GROUPS: "unknown group(s): {names}",
        Reason.NO_TARGETS: "no zones or groups to send to: add 'zones: ...'",
        Reason.WITHDRAWN: "{reference} was withdrawn by the reporter at {at} and will not be distributed",
        Reason.NOT_REPORTER: (
            "only the address the acknowledgement went to can withdraw the report; nothing was changed"
        ),
        Reason.WITHDRAW_TOO_LATE: "{reference} was already decided and can no longer be withdrawn",
        Reason.UNKNOWN_FOLLOWUP: (
            "this reply address is unknown or has expired; your message was not passed on. "
            "Send a new report to {address}"
        ),
        Reason.EMPTY_VALUE: "{field}: none given",
        Reason.INVALID_YES_NO: "{field}: '{value}' is neither yes nor no",
        Reason.UNKNOWN_CATEGORY: "unknown category '{value}'; known: {known}",
        Reason.INVALID_TIME: (
            "time '{value}' not understood (or after the report was received); write e.g. 'time: 21/11 03:00'"
        ),
        Reason.UNKNOWN_PLACE: "place '{value}' is not 'latitude, longitude', a known subscriber or a zone",
        Reason.AMBIGUOUS_PLACE: "place '{value}' may be several subscribers: {names}; write the full name",
    },
    "de": {
        Reason.EMPTY_REPLY: "die Antwort enthält keinen Befehl",
        Reason.UNKNOWN_COMMAND: (
            "„{text}“ ist kein Befehl; schreiben Sie nur „ok“ oder „ablehnen <Grund>“ in die erste Zeile"
        ),
        Reason.UNKNOWN_FIELD: "unbekanntes Feld „{name}“",
        Reason.QUESTION: "„{text}“ ist eine Frage, kein Befehl; es wurde nichts ausgeführt",
        Reason.NEGATION: "„{text}“ enthält eine Verneinung; zum Ablehnen: „ablehnen <Grund>“",
        Reason.BARE_NO: "„{word}“ allein ist kein Befehl; zum Ablehnen: „ablehnen <Grund>“",
        Reason.BOTH_APPROVE_AND_REJECT: "Genehmigen und Ablehnen zugleich angegeben",
        Reason.EDIT_WITHOUT_TEXT: "„bearbeiten“ ohne neuen Text darunter",
        Reason.EMPTY_LIST: "{field}: nichts angegeben",
        Reason.TOO_MANY_ITEMS: "{field}: mehr als {limit} angegeben",
        Reason.NOT_ALLOWED: "„{command}“ ist hier nicht erlaubt",
        Reason.INVALID_LOCATION: "Ort „{value}“ ist nicht „Breitengrad, Längengrad“ in Grad",
        Reason.MISSING_DETAILS: "noch nötig: {fields}",
        Reason.UNKNOWN_TOKEN: "unbekannte Antwortadresse: antworten Sie auf eine aktuelle Meldung",
        Reason.OTHER_MODERATOR: "diese Antwortadresse wurde an einen anderen Moderator geschickt",
        Reason.NOT_MODERATOR: "der Absender ist (nicht mehr) Moderator dieses Netzwerks",
        Reason.TOKEN_EXPIRED: "diese Antwortadresse ist abgelaufen",
        Reason.ALREADY_DECIDED: "{reference} wurde bereits von {by} am {at} entschieden",
        Reason.REPORT_GONE: "die Meldung existiert nicht mehr",
        Reason.OTHER_REFERENCE: "diese Antwortadresse gehört zu {reference}, nicht zu {named}",
        Reason.AUTOMATIC: "automatische Antwort ignoriert",
        Reason.UNKNOWN_ZONES: "unbekannte Zone(n): {names}",
        Reason.UNKNOWN_GROUPS: "unbekannte Gruppe(n): {names}",
        Reason.NO_TARGETS: "keine Zonen oder Gruppen als Empfänger: fügen Sie 'Zonen: ...' hinzu",
        Reason.WITHDRAWN: "{reference} wurde am {at} vom Melder zurückgezogen und wird nicht verbreitet",
        Reason.NOT_REPORTER: (
            "nur die Adresse, an die die Eingangsbestätigung ging, kann die Meldung zurückziehen; "
            "es wurde nichts geändert"
        ),
        Reason.WITHDRAW_TOO_LATE: (
            "{reference} wurde bereits entschieden und kann nicht mehr zurückgezogen werden"
        ),
        Reason.UNKNOWN_FOLLOWUP: (
            "diese Antwortadresse ist unbekannt oder abgelaufen; Ihre Nachricht wurde nicht weitergeleitet. "
            "Eine neue Meldung senden Sie an {address}"
        ),
        Reason.EMPTY_VALUE: "{field}: nichts angegeben",
        Reason.INVALID_YES_NO: "{field}: „{value}“ ist weder ja noch nein",
        Reason.UNKNOWN_CATEGORY: "unbekannte Kategorie „{value}“; bekannt sind: {known}",
        Reason.INVALID_TIME: (
            "Zeitpunkt „{value}“ nicht verstanden (oder nach dem Eingang der Meldung); "
            "schreiben Sie z. B. „Zeitpunkt: 21/11 03:00“"
        ),
        Reason.UNKNOWN_PLACE: (
            "Ort „{value}“ ist weder „Breitengrad, Längengrad“ noch ein bekannter Teilnehmer oder eine Zone"
        ),
        Reason.AMBIGUOUS_PLACE: (
            "Ort „{value}“ kann mehrere Teilnehmer meinen: {names}; schreiben Sie den vollen Namen"
        ),
    },
}

#: The texts of the TLP and four-eyes reasons, kept together (one block per language).
_SAFEGUARD_REASONS: dict[Language, dict[Reason, str]] = {
    "nl": {
        Reason.INVALID_TLP: "'{value}' is geen TLP-label: RED, AMBER+STRICT, AMBER, GREEN of CLEAR",
        Reason.TLP_CONSENT_ASKED: (
            "TLP:{label} is minder streng dan TLP:{floor}, het label van de melder: de melder werd om "
            "toestemming gevraagd; na het akkoord kan het label verlaagd worden"
        ),
        Reason.TLP_NO_CONSENT: (
            "TLP:{label} is minder streng dan TLP:{floor}, het label van de melder, en de melder kan niet "
            "om toestemming gevraagd worden"
        ),
        Reason.RED_NEEDS_RECIPIENTS: (
            "TLP:RED gaat alleen naar genoemde ontvangers: voeg 'ontvangers: a@voorbeeld.be, ...' toe"
        ),
        Reason.RED_NO_ZONES: "TLP:RED gaat nooit naar zones of groepen: noem de ontvangers met 'ontvangers:'",
        Reason.RECIPIENTS_ONLY_RED: (
            "'ontvangers:' alleen bij TLP:RED; andere labels gaan naar zones en groepen"
        ),
        Reason.INVALID_RECIPIENTS: "geen e-mailadres(sen): {names}",
        Reason.STRICT_EXTERNAL_GROUPS: "TLP:AMBER+STRICT gaat niet naar externe groep(en): {names}",
        Reason.SAME_MODERATOR: (
            "{reference} werd al goedgekeurd door {by}: het vier-ogenprincipe vraagt een andere moderator"
        ),
    },
    "fr": {
        Reason.INVALID_TLP: "« {value} » n'est pas un label TLP : RED, AMBER+STRICT, AMBER, GREEN ou CLEAR",
        Reason.TLP_CONSENT_ASKED: (
            "TLP:{label} est moins strict que TLP:{floor}, le label du déclarant : son accord lui a été "
            "demandé ; après son accord, le label pourra être abaissé"
        ),
        Reason.TLP_NO_CONSENT: (
            "TLP:{label} est moins strict que TLP:{floor}, le label du déclarant, dont l'accord ne peut "
            "pas être demandé"
        ),
        Reason.RED_NEEDS_RECIPIENTS: (
            "TLP:RED ne va qu'à des destinataires nommés : ajoutez « destinataires: a@exemple.be, ... »"
        ),
        Reason.RED_NO_ZONES: (
            "TLP:RED ne va jamais à des zones ou des groupes : "
            "nommez les destinataires avec « destinataires: »"
        ),
        Reason.RECIPIENTS_ONLY_RED: (
            "« destinataires: » seulement avec TLP:RED ; les autres labels vont aux zones et groupes"
        ),
        Reason.INVALID_RECIPIENTS: "pas une adresse e-mail : {names}",
        Reason.STRICT_EXTERNAL_GROUPS: "TLP:AMBER+STRICT ne va pas aux groupes externes : {names}",
        Reason.SAME_MODERATOR: (
            "{reference} a déjà été approuvé par {by} : "
            "le principe des quatre yeux demande un autre modérateur"
        ),
    },
    "en": {
        Reason.INVALID_TLP: "'{value}' is not a TLP label: RED, AMBER+STRICT, AMBER, GREEN or CLEAR",
        Reason.TLP_CONSENT_ASKED: (
            "TLP:{label} is less strict than TLP:{floor}, the reporter's label: the reporter was asked to "
            "agree; once they do, the label can be lowered"
        ),
        Reason.TLP_NO_CONSENT: (
            "TLP:{label} is less strict than TLP:{floor}, the reporter's label, and there is no reporter "
            "to ask for consent"
        ),
        Reason.RED_NEEDS_RECIPIENTS: (
            "TLP:RED goes only to named recipients: add 'recipients: a@example.org, ...'"
        ),
        Reason.RED_NO_ZONES: "TLP:RED never goes to zones or groups: name the recipients with 'recipients:'",
        Reason.RECIPIENTS_ONLY_RED: "'recipients:' only with TLP:RED; other labels go to zones and groups",
        Reason.INVALID_RECIPIENTS: "not an e-mail address: {names}",
        Reason.STRICT_EXTERNAL_GROUPS: "TLP:AMBER+STRICT does not go to external group(s): {names}",
        Reason.SAME_MODERATOR: (
            "{reference} was already approved by {by}: four-eyes approval needs another moderator"
        ),
    },
    "de": {
        Reason.INVALID_TLP: "„{value}“ ist kein TLP-Label: RED, AMBER+STRICT, AMBER, GREEN oder CLEAR",
        Reason.TLP_CONSENT_ASKED: (
            "TLP:{label} ist weniger streng als TLP:{floor}, das Label des Melders: der Melder wurde um "
            "Zustimmung gebeten; danach kann das Label gesenkt werden"
        ),
        Reason.TLP_NO_CONSENT: (
            "TLP:{label} ist weniger streng als TLP:{floor}, das Label des Melders, und der Melder kann "
            "nicht um Zustimmung gebeten werden"
        ),
        Reason.RED_NEEDS_RECIPIENTS: (
            "TLP:RED geht nur an genannte Empfänger: fügen Sie „Empfänger: a@beispiel.de, ...“ hinzu"
        ),
        Reason.RED_NO_ZONES: (
            "TLP:RED geht nie an Zonen oder Gruppen: nennen Sie die Empfänger mit „Empfänger:“"
        ),
        Reason.RECIPIENTS_ONLY_RED: "„Empfänger:“ nur bei TLP:RED; andere Labels gehen an Zonen und Gruppen",
        Reason.INVALID_RECIPIENTS: "keine E-Mail-Adresse(n): {names}",
        Reason.STRICT_EXTERNAL_GROUPS: "TLP:AMBER+STRICT geht nicht an externe Gruppe(n): {names}",
        Reason.SAME_MODERATOR: (
            "{reference} wurde bereits von {by} genehmigt: "
            "das Vier-Augen-Prinzip verlangt einen anderen Moderator"
        ),
    },
}
for _lang, _texts in _SAFEGUARD_REASONS.items():
    REASONS[_lang].update(_texts)

_CANVASS_REASONS: dict[Language, dict[Reason, str]] = {
    "nl": {
        Reason.NO_LOCATION: "{company} heeft geen locatie: geef coördinaten",
        Reason.CANVASS_NOT_SCHEDULED: (
            "buurtonderzoek {number} is niet meer gepland ({status}): het kan niet meer geannuleerd worden"
        ),
    },
    "fr": {
        Reason.NO_LOCATION: "{company} n'a pas de position : donnez des coordonnées",
        Reason.CANVASS_NOT_SCHEDULED: (
            "l'enquête {number} n'est plus planifiée ({status}) : elle ne peut plus être annulée"
        ),
    },
    "en": {
        Reason.NO_LOCATION: "{company} has no location; give coordinates instead",
        Reason.CANVASS_NOT_SCHEDULED: ("canvass {number} is {status}: only a scheduled one can be cancelled"),
    },
    "de": {
        Reason.NO_LOCATION: "{company} hat keinen Standort: geben Sie Koordinaten an",
        Reason.CANVASS_NOT_SCHEDULED: (
            "Befragung {number} ist nicht mehr geplant ({status}): sie kann nicht mehr storniert werden"
        ),
    },
}
for _lang, _texts in _CANVASS_REASONS.items():
    REASONS[_lang].update(_texts)


def language_of(language: str | None) -> Language:
    """A supported language for a configured one ("nl", "NL", "nl-BE" -> "nl"); English otherwise."""
    code = (language or "").strip().lower().replace("_", "-").split("-")[0]
    return next((lang for lang in LANGUAGES if lang == code), DEFAULT_LANGUAGE)


def field_name(key: str, language: str) -> str:
    """The name of field ``key`` ("company") in ``language`` ("bedrijf"); the key itself if unknown."""
    return FIELD_NAMES[language_of(language)].get(key, key)


def removed_kind(kind: Removed, language: str) -> str:
    return REMOVED_KINDS[language_of(language)][kind]


def reply_marker(language: str) -> str:
    return REPLY_MARKER[language_of(language)]


def removed_marker(language: str) -> str:
    return REMOVED_MARKER[language_of(language)]


def _param(name: str, value: ParamValue, lang: Language) -> str:
    if name == "field" and isinstance(value, str):
        return field_name(value, lang)
    if name == "fields" and isinstance(value, tuple):
        return ", ".join(field_name(v, lang) for v in value)
    if name == "command" and isinstance(value, str):
        return COMMAND_NAMES[lang].get(value, value)
    if isinstance(value, tuple):
        return ", ".join(value)
    return str(value)


def reason_text(refusal: Refusal, language: str) -> str:
    """The refusal as a sentence in ``language``; field and command keys are translated too."""
    lang = language_of(language)
    params: Mapping[str, str] = {k: _param(k, v, lang) for k, v in refusal.params}
    return REASONS[lang][refusal.code].format_map(params)


def reasons_text(refusals: tuple[Refusal, ...], language: str) -> str:
    """Several refusals as one line ("; " between them), for the ``reason`` of ``command_error``."""
    return "; ".join(reason_text(r, language) for r in refusals)


class Metadata(StrEnum):
    """Kinds of image metadata :mod:`save_relay.mail.images` removes."""

    GPS = "gps"
    CAMERA = "camera"
    DATE_TAKEN = "date_taken"
    SOFTWARE = "software"
    AUTHOR = "author"
    EXIF = "exif"  # any other EXIF data (serial numbers, lens, thumbnail, ...)
    XMP = "xmp"
    IPTC = "iptc"
    ICC_PROFILE = "icc_profile"
    COMMENT = "comment"
    TEXT = "text"  # PNG text chunks
    ANIMATION = "animation"  # only the first frame is kept


class AttachmentNote(StrEnum):
    """What the moderator is told about an attachment that could not be (or is not) cleaned."""

    TOO_LARGE = "too_large"  # more pixels than allowed (a decompression bomb): dropped
    UNREADABLE = "unreadable"  # not a readable image: dropped
    UNSUPPORTED_IMAGE = "unsupported_image"  # an image format we do not re-encode: dropped
    MAY_CARRY_METADATA = "may_carry_metadata"  # PDF, Office: kept, but may name its author


METADATA_LABELS: dict[Language, dict[Metadata, str]] = {
    "nl": {
        Metadata.GPS: "GPS-positie",
        Metadata.CAMERA: "merk en model van het toestel",
        Metadata.DATE_TAKEN: "opnamedatum",
        Metadata.SOFTWARE: "software",
        Metadata.AUTHOR: "auteur en copyright",
        Metadata.EXIF: "overige EXIF-gegevens",
        Metadata.XMP: "XMP-gegevens",
        Metadata.IPTC: "IPTC-gegevens",
        Metadata.ICC_PROFILE: "kleurprofiel (omgezet naar sRGB)",
        Metadata.COMMENT: "commentaar",
        Metadata.TEXT: "tekstvelden",
        Metadata.ANIMATION: "animatie (alleen het eerste beeld blijft)",
    },
    "fr": {
        Metadata.GPS: "position GPS",
        Metadata.CAMERA: "marque et modèle de l'appareil",
        Metadata.DATE_TAKEN: "date de prise de vue",
        Metadata.SOFTWARE: "logiciel",
        Metadata.AUTHOR: "auteur et copyright",
        Metadata.EXIF: "autres données EXIF",
        Metadata.XMP: "données XMP",
        Metadata.IPTC: "données IPTC",
        Metadata.ICC_PROFILE: "profil de couleur (converti en sRGB)",
        Metadata.COMMENT: "commentaire",
        Metadata.TEXT: "champs de texte",
        Metadata.ANIMATION: "animation (seule la première image est gardée)",
    },
    "en": {
        Metadata.GPS: "GPS position",
        Metadata.CAMERA: "camera make/model",
        Metadata.DATE_TAKEN: "date taken",
        Metadata.SOFTWARE: "software",
        Metadata.AUTHOR: "author and copyright",
        Metadata.EXIF: "other EXIF data",
        Metadata.XMP: "XMP data",
        Metadata.IPTC: "IPTC data",
        Metadata.ICC_PROFILE: "colour profile (converted to sRGB)",
        Metadata.COMMENT: "comment",
        Metadata.TEXT: "text fields",
        Metadata.ANIMATION: "animation (only the first frame is kept)",
    },
    "de": {
        Metadata.GPS: "GPS-Position",
        Metadata.CAMERA: "Kamerahersteller und -modell",
        Metadata.DATE_TAKEN: "Aufnahmedatum",
        Metadata.SOFTWARE: "Software",
        Metadata.AUTHOR: "Urheber und Copyright",
        Metadata.EXIF: "weitere EXIF-Daten",
        Metadata.XMP: "XMP-Daten",
        Metadata.IPTC: "IPTC-Daten",
        Metadata.ICC_PROFILE: "Farbprofil (nach sRGB umgerechnet)",
        Metadata.COMMENT: "Kommentar",
        Metadata.TEXT: "Textfelder",
        Metadata.ANIMATION: "Animation (nur das erste Bild bleibt)",
    },
}

ATTACHMENT_NOTES: dict[Language, dict[AttachmentNote, str]] = {
    "nl": {
        AttachmentNote.TOO_LARGE: "afbeelding te groot om op te schonen; niet meegestuurd",
        AttachmentNote.UNREADABLE: "afbeelding kon niet worden opgeschoond; niet meegestuurd",
        AttachmentNote.UNSUPPORTED_IMAGE: "afbeeldingsformaat niet ondersteund; niet meegestuurd",
        AttachmentNote.MAY_CARRY_METADATA: (
            "dit bestand kan metadata bevatten (auteur, bedrijf); controleer het"
        ),
    },
    "fr": {
        AttachmentNote.TOO_LARGE: "image trop grande pour être nettoyée ; non transmise",
        AttachmentNote.UNREADABLE: "l'image n'a pas pu être nettoyée ; non transmise",
        AttachmentNote.UNSUPPORTED_IMAGE: "format d'image non pris en charge ; non transmise",
        AttachmentNote.MAY_CARRY_METADATA: (
            "ce fichier peut contenir des métadonnées (auteur, entreprise) ; vérifiez-le"
        ),
    },
    "en": {
        AttachmentNote.TOO_LARGE: "image too large to clean; not sent on",
        AttachmentNote.UNREADABLE: "image could not be cleaned; not sent on",
        AttachmentNote.UNSUPPORTED_IMAGE: "image format not supported; not sent on",
        AttachmentNote.MAY_CARRY_METADATA: "this file may carry metadata (author, company); check it",
    },
    "de": {
        AttachmentNote.TOO_LARGE: "Bild zu groß zum Bereinigen; nicht weitergeleitet",
        AttachmentNote.UNREADABLE: "Bild konnte nicht bereinigt werden; nicht weitergeleitet",
        AttachmentNote.UNSUPPORTED_IMAGE: "Bildformat nicht unterstützt; nicht weitergeleitet",
        AttachmentNote.MAY_CARRY_METADATA: (
            "diese Datei kann Metadaten enthalten (Autor, Firma); bitte prüfen"
        ),
    },
}


def metadata_label(kind: Metadata, language: str) -> str:
    return METADATA_LABELS[language_of(language)][kind]


def attachment_note(note: AttachmentNote, language: str) -> str:
    return ATTACHMENT_NOTES[language_of(language)][note]


#: The titles of the statistics' charts (``stats/charts.py``), in the CLI's files and the monthly mail.
CHART_TITLES: dict[Language, dict[str, str]] = {
    "nl": {
        "heatmap": "Meldingen per weekdag en uur",
        "months": "Meldingen per maand en categorie",
        "zones": "Meldingen per zone",
    },
    "fr": {
        "heatmap": "Signalements par jour et par heure",
        "months": "Signalements par mois et par catégorie",
        "zones": "Signalements par zone",
    },
    "en": {
        "heatmap": "Reports by weekday and hour",
        "months": "Reports by month and category",
        "zones": "Reports by zone",
    },
    "de": {
        "heatmap": "Meldungen nach Wochentag und Stunde",
        "months": "Meldungen nach Monat und Kategorie",
        "zones": "Meldungen nach Zone",
    },
}


def chart_title(kind: str, language: str) -> str:
    return CHART_TITLES[language_of(language)][kind]
