"""``/unsubscribe/<network>/<token>``: the RFC 8058 one-click unsubscribe, no login.

``POST`` with the body ``List-Unsubscribe=One-Click`` unsubscribes the address the token's delivery
went to, at once, and queues the confirmation mail. ``GET`` (a person clicking the link, or a mail
filter's link scanner) only shows a page with a button that makes that POST: it never unsubscribes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from http import HTTPStatus
from urllib.parse import parse_qs

from save_relay.core.context import Context, NetworkRef
from save_relay.core.tokens import looks_like_token
from save_relay.membership.unsubscribe import address_for_token, unsubscribe_by_token
from save_relay.store.db import SessionFactory
from save_relay.web.server import Request, Response, error_page

PATH = re.compile(r"^/unsubscribe/([a-z0-9_-]{1,64})/([A-Za-z2-7]{26,39})/?$")
ONE_CLICK = "One-Click"

TEXTS: dict[str, dict[str, str]] = {
    "nl": {
        "title": "Afmelden",
        "ask": "Wilt u geen berichten van {name} meer ontvangen op dit adres?",
        "button": "Afmelden",
        "done": "U bent afgemeld: dit adres krijgt geen berichten meer van {name}. "
        "U ontvangt een bevestiging.",
        "unknown": "Deze afmeldlink is niet (meer) geldig.",
    },
    "en": {
        "title": "Unsubscribe",
        "ask": "Do you want to stop receiving messages from {name} at this address?",
        "button": "Unsubscribe",
        "done": "You are unsubscribed: this address gets no more messages from {name}. "
        "A confirmation is on its way.",
        "unknown": "This unsubscribe link is not valid (any more).",
    },
    "fr": {
        "title": "Désinscription",
        "ask": "Vous ne souhaitez plus recevoir de messages de {name} à cette adresse ?",
        "button": "Me désinscrire",
        "done": "Vous êtes désinscrit : cette adresse ne reçoit plus de messages de {name}. "
        "Une confirmation suit.",
        "unknown": "Ce lien de désinscription n'est pas (ou plus) valable.",
    },
}


def page(status: int, language: str, title: str, text: str, form: bool = False, button: str = "") -> Response:
    body = (
        f'<!doctype html><html lang="{language}"><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width">'
        f"<title>{html.escape(title)}</title>"
        '<body style="font-family:sans-serif;max-width:36em;margin:3em auto;padding:0 1em">'
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
    )
    if form:
        body += (
            '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
            f'<button type="submit">{html.escape(button)}</button></form>'
        )
    return Response(status, (body + "</body></html>\n").encode("utf-8"))


def is_one_click(request: Request) -> bool:
    """The RFC 8058 body: ``List-Unsubscribe=One-Click`` (form-encoded; the only thing we accept)."""
    try:
        fields = parse_qs(request.body.decode("ascii"), strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return False
    return fields.get("List-Unsubscribe") == [ONE_CLICK]


class OneClick:
    """The handler; ``on_change`` is called after an unsubscribe (to wake the outbound worker)."""

    def __init__(
        self, ctx: Context, sessions: SessionFactory, on_change: Callable[[], None] = lambda: None
    ) -> None:
        self.ctx = ctx
        self.sessions = sessions
        self.on_change = on_change

    async def __call__(self, request: Request) -> Response:
        match = PATH.match(request.path)
        network = self.ctx.networks.get(match.group(1)) if match else None
        if match is None or network is None or not looks_like_token(match.group(2)):
            return error_page(HTTPStatus.NOT_FOUND)
        token = match.group(2).lower()
        if request.method == "POST":
            return await self._post(request, network, token)
        return await self._get(network, token)

    def _texts(self, network: NetworkRef) -> tuple[str, dict[str, str]]:
        language = network.settings.language if network.settings.language in TEXTS else "en"
        return language, {k: v.format(name=network.settings.name) for k, v in TEXTS[language].items()}

    async def _get(self, network: NetworkRef, token: str) -> Response:
        language, texts = self._texts(network)
        async with self.sessions() as session:
            known = await address_for_token(session, network, token) is not None
        if not known:
            return page(HTTPStatus.NOT_FOUND, language, texts["title"], texts["unknown"])
        return page(HTTPStatus.OK, language, texts["title"], texts["ask"], form=True, button=texts["button"])

    async def _post(self, request: Request, network: NetworkRef, token: str) -> Response:
        language, texts = self._texts(network)
        if not is_one_click(request):
            return error_page(HTTPStatus.BAD_REQUEST)
        async with self.sessions() as session, session.begin():
            address = await unsubscribe_by_token(session, network, token, via="http")
        if address is None:
            return page(HTTPStatus.NOT_FOUND, language, texts["title"], texts["unknown"])
        self.on_change()
        return page(HTTPStatus.OK, language, texts["title"], texts["done"])
