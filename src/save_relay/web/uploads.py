"""A file posted to a coordinator page (the subscribers CSV, a zones GeoJSON), or the same text pasted.

The form is read once with room for it (``UPLOAD_BYTES``; the route's ``max_body_size`` lets it in), then
checked like any other (CSRF, role). The text must be UTF-8 (a BOM is allowed).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from save_relay.web.access import EDITORS, form_of
from save_relay.web.auth import Visitor

UPLOAD_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Upload:
    """Who posted what; ``problem`` is a text key when there is no usable text (not UTF-8, empty)."""

    who: Visitor
    form: FormData
    text: str
    problem: str


async def _text(form: FormData) -> str | None:
    given = form.get("file")
    if isinstance(given, UploadFile) and given.filename:
        try:
            return (await given.read()).decode("utf-8-sig")
        except UnicodeDecodeError:
            return None
    return str(form.get("text", ""))


async def uploaded(request: Request) -> Upload | None:
    """The posted file's text, else the pasted one (None: not logged in; 403: a bad token or role)."""
    await request.form(max_files=1, max_fields=16, max_part_size=UPLOAD_BYTES)
    asked = await form_of(request, EDITORS)
    if asked is None:
        return None
    who, form = asked
    text = await _text(form)
    problem = "import_not_text" if text is None else "" if text.strip() else "import_empty"
    return Upload(who, form, text or "", problem)
