"""The console's languages: Dutch first, French and English by the browser's ``Accept-Language``;
logged-in pages speak the account's language (nl, fr, en or de).

Texts are plain dicts per language (as in ``oneclick.TEXTS``), handed to the templates as ``t``; a key
missing in fr or en falls back to nl (``texts``), so a page never shows a bare key.
"""

from __future__ import annotations

from typing import Final

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
    return {**TEXTS[DEFAULT], **TEXTS.get(language, {})}
