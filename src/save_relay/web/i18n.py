"""The console's languages: Dutch first, French and English by the browser's ``Accept-Language``;
logged-in pages speak the account's language (nl, fr, en or de).

Texts are plain dicts per language (as in ``oneclick.TEXTS``), handed to the templates as ``t``; a key
missing in fr or en falls back to nl (``texts``), so a page never shows a bare key.
"""

from __future__ import annotations

from typing import Final

from save_relay.core.errors import CommandRefused, SaveRelayError
from save_relay.core.problems import ENGLISH, Problem, ProblemsError, render
from save_relay.mail.i18n import Refusal, reason_text
from save_relay.membership.csvfile import LineError
from save_relay.web.problem_texts import PROBLEM_TEXTS
from save_relay.web.texts_changes import CHANGE_TEXTS
from save_relay.web.texts_pages import PAGE_TEXTS
from save_relay.web.texts_sms import SMS_TEXTS
from save_relay.web.texts_webhooks import WEBHOOK_TEXTS

LANGUAGES: Final = ("nl", "fr", "en")
DEFAULT: Final = "nl"


def negotiate(
    accept_language: str | None, available: tuple[str, ...] = LANGUAGES, default: str = DEFAULT
) -> str:
    """The best of ``available`` for an ``Accept-Language`` header (RFC 9110 12.5.4), else ``default``.

    Only the primary subtag counts (``nl-BE`` is ``nl``); ``q=0`` refuses a language; ties keep the
    header's order. Malformed entries are skipped, never an error.
    """
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = -1.0
        if primary and 0 < quality <= 1:
            ranked.append((-quality, position, primary))
    for _, _, primary in sorted(ranked):
        if primary in available:
            return primary
    return default


TEXTS: Final[dict[str, dict[str, str]]] = {
    "nl": {
        "zone_map": "Kaart van de zones (klik een zone om ze aan of uit te vinken)",
        "recipients": "Ontvangers",
        "choose_groups": "Groepen",
        "originals": "Originele bijlagen (enkel voor de politie; elke weergave wordt gelogd)",
        "any": "alle",
        "category": "Soort",
        "period_from": "Van",
        "period_to": "Tot en met",
        "bulk_reject": "Geselecteerde meldingen afwijzen",
        "select_report": "Selecteer",
        "bulk_done": "Afgewezen",
        "bulk_refused": "Niet afgewezen",
        "download_raw": "Originele mail downloaden (wordt gelogd)",
        "queue": "Wachtrij",
        "status": "Status",
        "show": "Tonen",
        "reference": "Referentie",
        "received": "Ontvangen",
        "subject": "Onderwerp",
        "sender": "Afzender",
        "none": "Geen meldingen.",
        "preview": "Wat de abonnees krijgen",
        "details": "Gegevens",
        "history": "Geschiedenis",
        "followups": "Vervolgberichten",
        "approve": "Goedkeuren en versturen",
        "reject": "Weigeren",
        "reason": "Reden",
        "decided_by": "Beslist door",
        "refused": "Niet uitgevoerd",
        "choose_zones": "Zones",
        "st_pending": "te beoordelen",
        "st_approved": "goedgekeurd",
        "st_rejected": "geweigerd",
        "st_expired": "verlopen",
        "st_shunted": "opzijgezet",
        "st_discarded": "verworpen",
        "st_withdrawn": "ingetrokken",
        "login_name": "E-mailadres",
        "password": "Wachtwoord",
        "code": "Code uit uw authenticator-app",
        "code_help": "Zes cijfers; leeg laten als uw account er geen heeft.",
        "login_failed": "Aanmelden mislukt: controleer e-mailadres, wachtwoord en code. Na enkele pogingen "
        "moet u even wachten.",
        "logged_in_as": "Aangemeld als",
        "logout": "Afmelden",
        "role_moderator": "moderator",
        "role_coordinator": "coördinator",
        "role_admin": "beheerder",
        "skip": "Naar de inhoud",
        "nav": "Hoofdmenu",
        "soon": "binnenkort",
        "reports": "Meldingen",
        "subscribers": "Abonnees",
        "zones": "Zones",
        "canvasses": "Buurtonderzoeken",
        "login": "Inloggen",
        "console": "Console",
        "login_intro": "Deze console is voor de moderatoren en coördinatoren van {name}.",
        "emergency": "Dit netwerk is niet voor noodgevallen: bel 112 bij nood, 101 voor de politie.",
        "error": "Fout",
        "error_404": "Deze pagina bestaat niet.",
        "error_405": "Deze pagina kan dat niet.",
        "error_408": "Het verzoek duurde te lang.",
        "error_413": "Het verzoek is te groot.",
        "error_other": "Het verzoek kon niet verwerkt worden.",
        "home": "Naar de startpagina",
    },
    "fr": {
        "zone_map": "Carte des zones (cliquez sur une zone pour la cocher ou la décocher)",
        "recipients": "Destinataires",
        "choose_groups": "Groupes",
        "originals": "Pièces jointes originales (réservées à la police ; chaque affichage est journalisé)",
        "any": "toutes",
        "category": "Type",
        "period_from": "Du",
        "period_to": "Au",
        "bulk_reject": "Refuser les signalements sélectionnés",
        "select_report": "Sélectionner",
        "bulk_done": "Refusés",
        "bulk_refused": "Non refusés",
        "download_raw": "Télécharger le mail original (journalisé)",
        "queue": "File d'attente",
        "status": "Statut",
        "show": "Afficher",
        "reference": "Référence",
        "received": "Reçu",
        "subject": "Objet",
        "sender": "Expéditeur",
        "none": "Aucun signalement.",
        "preview": "Ce que recevront les abonnés",
        "details": "Détails",
        "history": "Historique",
        "followups": "Messages de suivi",
        "approve": "Approuver et envoyer",
        "reject": "Refuser",
        "reason": "Motif",
        "decided_by": "Décidé par",
        "refused": "Non effectué",
        "choose_zones": "Zones",
        "st_pending": "à juger",
        "st_approved": "approuvé",
        "st_rejected": "refusé",
        "st_expired": "expiré",
        "st_shunted": "mis de côté",
        "st_discarded": "écarté",
        "st_withdrawn": "retiré",
        "login_name": "Adresse e-mail",
        "password": "Mot de passe",
        "code": "Code de votre application d'authentification",
        "code_help": "Six chiffres ; laissez vide si votre compte n'en a pas.",
        "login_failed": "Connexion refusée : vérifiez l'adresse, le mot de passe et le code. Après quelques "
        "essais, il faut attendre un moment.",
        "logged_in_as": "Connecté en tant que",
        "logout": "Se déconnecter",
        "role_moderator": "modérateur",
        "role_coordinator": "coordinateur",
        "role_admin": "administrateur",
        "skip": "Aller au contenu",
        "nav": "Menu principal",
        "soon": "bientôt",
        "reports": "Signalements",
        "subscribers": "Abonnés",
        "zones": "Zones",
        "canvasses": "Enquêtes de voisinage",
        "login": "Se connecter",
        "console": "Console",
        "login_intro": "Cette console est destinée aux modérateurs et coordinateurs de {name}.",
        "emergency": "Ce réseau n'est pas fait pour les urgences : appelez le 112 en cas d'urgence, le 101 "
        "pour la police.",
        "error": "Erreur",
        "error_404": "Cette page n'existe pas.",
        "error_405": "Cette page ne permet pas cela.",
        "error_408": "La requête a pris trop de temps.",
        "error_413": "La requête est trop grande.",
        "error_other": "La requête n'a pas pu être traitée.",
        "home": "Vers la page d'accueil",
    },
    "en": {
        "zone_map": "Map of the zones (click a zone to tick or untick it)",
        "recipients": "Recipients",
        "choose_groups": "Groups",
        "originals": "Original attachments (police only; every view is logged)",
        "any": "all",
        "category": "Category",
        "period_from": "From",
        "period_to": "To",
        "bulk_reject": "Reject the selected reports",
        "select_report": "Select",
        "bulk_done": "Rejected",
        "bulk_refused": "Not rejected",
        "download_raw": "Download the original mail (logged)",
        "queue": "Queue",
        "status": "Status",
        "show": "Show",
        "reference": "Reference",
        "received": "Received",
        "subject": "Subject",
        "sender": "Sender",
        "none": "No reports.",
        "preview": "What subscribers will get",
        "details": "Details",
        "history": "History",
        "followups": "Follow-ups",
        "approve": "Approve and send",
        "reject": "Reject",
        "reason": "Reason",
        "decided_by": "Decided by",
        "refused": "Not done",
        "choose_zones": "Zones",
        "st_pending": "pending",
        "st_approved": "approved",
        "st_rejected": "rejected",
        "st_expired": "expired",
        "st_shunted": "set aside",
        "st_discarded": "discarded",
        "st_withdrawn": "withdrawn",
        "login_name": "Mail address",
        "password": "Password",
        "code": "Code from your authenticator app",
        "code_help": "Six digits; leave it empty if your account has none.",
        "login_failed": "Login failed: check the address, the password and the code. After a few tries "
        "you have to wait a while.",
        "logged_in_as": "Logged in as",
        "logout": "Log out",
        "role_moderator": "moderator",
        "role_coordinator": "coordinator",
        "role_admin": "administrator",
        "skip": "Skip to content",
        "nav": "Main menu",
        "soon": "soon",
        "reports": "Reports",
        "subscribers": "Subscribers",
        "zones": "Zones",
        "canvasses": "Canvasses",
        "login": "Log in",
        "console": "Console",
        "login_intro": "This console is for the moderators and coordinators of {name}.",
        "emergency": "This network is not for emergencies: call 112 in an emergency, 101 for the police.",
        "error": "Error",
        "error_404": "This page does not exist.",
        "error_405": "This page cannot do that.",
        "error_408": "The request took too long.",
        "error_413": "The request is too large.",
        "error_other": "The request could not be handled.",
        "home": "To the home page",
    },
    "de": {
        "zone_map": "Karte der Zonen (eine Zone anklicken, um sie an- oder abzuwählen)",
        "recipients": "Empfänger",
        "choose_groups": "Gruppen",
        "originals": "Originalanhänge (nur für die Polizei; jede Ansicht wird protokolliert)",
        "any": "alle",
        "category": "Art",
        "period_from": "Von",
        "period_to": "Bis einschließlich",
        "bulk_reject": "Ausgewählte Meldungen ablehnen",
        "select_report": "Auswählen",
        "bulk_done": "Abgelehnt",
        "bulk_refused": "Nicht abgelehnt",
        "download_raw": "Originalmail herunterladen (wird protokolliert)",
        "queue": "Warteschlange",
        "status": "Status",
        "show": "Anzeigen",
        "reference": "Referenz",
        "received": "Eingegangen",
        "subject": "Betreff",
        "sender": "Absender",
        "none": "Keine Meldungen.",
        "preview": "Was die Abonnenten erhalten",
        "details": "Angaben",
        "history": "Verlauf",
        "followups": "Nachträge",
        "approve": "Freigeben und versenden",
        "reject": "Ablehnen",
        "reason": "Grund",
        "decided_by": "Entschieden von",
        "refused": "Nicht ausgeführt",
        "choose_zones": "Zonen",
        "st_pending": "zu prüfen",
        "st_approved": "freigegeben",
        "st_rejected": "abgelehnt",
        "st_expired": "abgelaufen",
        "st_shunted": "zurückgestellt",
        "st_discarded": "verworfen",
        "st_withdrawn": "zurückgezogen",
        "login_name": "E-Mail-Adresse",
        "password": "Passwort",
        "code": "Code aus Ihrer Authenticator-App",
        "code_help": "Sechs Ziffern; leer lassen, wenn Ihr Konto keinen hat.",
        "login_failed": "Anmeldung fehlgeschlagen: prüfen Sie Adresse, Passwort und Code. Nach einigen "
        "Versuchen müssen Sie eine Weile warten.",
        "logged_in_as": "Angemeldet als",
        "logout": "Abmelden",
        "role_moderator": "Moderator",
        "role_coordinator": "Koordinator",
        "role_admin": "Administrator",
        "skip": "Zum Inhalt",
        "nav": "Hauptmenü",
        "soon": "bald",
        "reports": "Meldungen",
        "subscribers": "Abonnenten",
        "zones": "Zonen",
        "canvasses": "Nachbarschaftsbefragungen",
        "login": "Anmelden",
        "console": "Konsole",
        "login_intro": "Diese Konsole ist für die Moderatoren und Koordinatoren von {name}.",
        "emergency": "Dieses Netzwerk ist nicht für Notfälle: rufen Sie im Notfall 112 an, die Polizei "
        "unter 101.",
        "error": "Fehler",
        "error_404": "Diese Seite gibt es nicht.",
        "error_405": "Diese Seite kann das nicht.",
        "error_408": "Die Anfrage hat zu lange gedauert.",
        "error_413": "Die Anfrage ist zu groß.",
        "error_other": "Die Anfrage konnte nicht bearbeitet werden.",
        "home": "Zur Startseite",
    },
}


def texts(language: str) -> dict[str, str]:
    """The texts of ``language``, with the Dutch ones for any key it lacks."""
    return {
        **TEXTS[DEFAULT],
        **PAGE_TEXTS[DEFAULT],
        **WEBHOOK_TEXTS[DEFAULT],
        **SMS_TEXTS[DEFAULT],
        **CHANGE_TEXTS[DEFAULT],
        **TEXTS.get(language, {}),
        **PAGE_TEXTS.get(language, {}),
        **WEBHOOK_TEXTS.get(language, {}),
        **SMS_TEXTS.get(language, {}),
        **CHANGE_TEXTS.get(language, {}),
    }


def problem_text(problem: Problem, language: str) -> str:
    """A CSV or GeoJSON problem (a code with parameters) in ``language``; English for a code it lacks."""
    return render(problem, PROBLEM_TEXTS.get(language, {}))


def line_text(error: LineError, language: str) -> str:
    """A refused CSV line: where it is and all its problems, in ``language``."""
    words = PROBLEM_TEXTS.get(language, {})
    found = "; ".join(problem_text(problem, language) for problem in error.problems)
    if not error.line:
        return found
    return (words.get("at_line") or ENGLISH["at_line"]).format(line=error.line) + found


def refusal_text(refused: CommandRefused, language: str) -> str:
    """Why a service refused an action, in ``language`` when it gave a code (``mail.i18n.Refusal``).

    A refusal without a code (rare: a service's own consistency check) keeps its English message.
    """
    if isinstance(refused.refusal, Refusal):
        return reason_text(refused.refusal, language)
    return str(refused)


def error_lines(error: SaveRelayError, language: str) -> list[str]:
    """What a service's refusal says, one line per problem, in ``language`` where it gave codes."""
    if isinstance(error, ProblemsError):
        return [problem_text(problem, language) for problem in error.problems]
    if isinstance(error, CommandRefused):
        return [refusal_text(error, language)]
    return str(error).split("; ")
