"""A mail's TLP label: in capitals at the head of the Subject and as the body's first line (FIRST TLP 2.0:
"the label should be in the subject line and at the beginning of the message"). Pure, no database."""

from __future__ import annotations

from save_relay.core.tlp import Label, body_with, subject_with
from save_relay.mail.compose import Rendered


def labelled(rendered: Rendered, label: Label) -> Rendered:
    """``rendered`` with ``[TLP:LABEL]`` before its subject and ``TLP:LABEL`` as its first line."""
    return Rendered(subject=subject_with(label, rendered.subject), body=body_with(label, rendered.body))
