"""``/unsubscribe/<network>/<token>``: the RFC 8058 one-click unsubscribe, no login.

``POST`` with the field ``List-Unsubscribe=One-Click`` (``multipart/form-data``, as RFC 8058 prefers, or
``application/x-www-form-urlencoded``) unsubscribes the address the token's delivery went to, at once, and
queues the confirmation mail. ``GET`` (a person clicking the link, or a mail filter's link scanner) only
shows a page with a button that makes that POST: it never unsubscribes. The pages are in the network's
language, as the mail that carried the link.
"""

from __future__ import annotations

from http import HTTPStatus

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from save_relay.core.context import NetworkRef
from save_relay.core.tokens import looks_like_token
from save_relay.membership.unsubscribe import address_for_token, unsubscribe_by_token
from save_relay.web.deps import deps
from save_relay.web.templating import render

FIELD = "List-Unsubscribe"
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


def _target(request: Request) -> tuple[NetworkRef, str]:
    """The network and the (lower-cased) token of the URL; 404 for anything else."""
    network = deps(request).ctx.networks.get(request.path_params["network"])
    token = request.path_params["token"]
    if network is None or not looks_like_token(token):
        raise HTTPException(HTTPStatus.NOT_FOUND)
    return network, token.lower()


def _page(request: Request, network: NetworkRef, status: int, text: str, *, form: bool = False) -> Response:
    language = network.settings.language if network.settings.language in TEXTS else "en"
    t = {k: v.format(name=network.settings.name) for k, v in TEXTS[language].items()}
    return render(
        request,
        "unsubscribe.html",
        {"u": t, "text": t[text], "form": form, "field": FIELD, "value": ONE_CLICK},
        language=language,
        status=status,
        site_name=network.settings.name,
    )


async def is_one_click(request: Request) -> bool:
    """The RFC 8058 body: one field ``List-Unsubscribe`` with the value ``One-Click``, form-encoded or
    multipart; no files. Anything else (another body, a malformed one) is not a one-click POST."""
    try:
        form = await request.form(max_files=0, max_fields=8, max_part_size=1024)
    except HTTPException:  # malformed multipart, a file part, too many fields
        return False
    return form.getlist(FIELD) == [ONE_CLICK]


async def show(request: Request) -> Response:
    """``GET``: the question and the button; changes nothing."""
    network, token = _target(request)
    async with deps(request).sessions() as session:
        known = await address_for_token(session, network, token) is not None
    if not known:
        return _page(request, network, HTTPStatus.NOT_FOUND, "unknown")
    return _page(request, network, HTTPStatus.OK, "ask", form=True)


async def unsubscribe(request: Request) -> Response:
    """``POST``: unsubscribe at once (idempotent: a second POST answers the same)."""
    network, token = _target(request)
    if not await is_one_click(request):
        raise HTTPException(HTTPStatus.BAD_REQUEST)
    web = deps(request)
    async with web.sessions() as session, session.begin():
        address = await unsubscribe_by_token(session, network, token, via="http")
    if address is None:
        return _page(request, network, HTTPStatus.NOT_FOUND, "unknown")
    web.on_change()
    return _page(request, network, HTTPStatus.OK, "done")
