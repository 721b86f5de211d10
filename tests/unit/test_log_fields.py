"""Every log event is structured, and every one about a report, a delivery, a canvass or a mailbox names
it in a field (``reference``, ``delivery_id``, ``canvass_id``, ``mailbox``, ...), so that a JSON log can be
searched by it (README: Logging). Read from the source: each ``log.<level>(...)`` call of the package.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "save_relay"
DYNAMIC = "<dynamic>"
LEVELS = {"debug", "info", "warning", "error", "exception", "critical"}

#: action prefix -> the fields of which one must be there ("**": spread from a helper such as
#: ``ImapPoller.log_fields``, which gives ``mailbox``).
RULES: dict[str, set[str]] = {
    "report_": {"reference", "references"},
    "reports_": {"reference", "references"},
    "ack_": {"reference"},
    "bounce_": {"delivery_id"},
    "canvass_": {"canvass_id"},
    "imap_": {"mailbox", "**"},
    "outbound_batch": {"delivery_ids"},
    "inbound_": {"inbound_id"},
    "batch_retried": {"inbound_id"},
    "intake_stored": {"inbound_ids"},
}


@dataclass(frozen=True)
class LogCall:
    where: str
    action: str | None  # the constant (or the constant start of an f-string) of extra["action"]
    keys: frozenset[str]


def _prefix(node: ast.expr) -> str | None:
    """The action's constant (start); ``DYNAMIC`` for a name handed in (``gate.refuse``'s ``action``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):  # f"report_{status}": its constant parts, "report_"
        return "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant)) or DYNAMIC
    if isinstance(node, ast.IfExp):  # "bounce_received" if ... else "bounce_ignored": the same object
        return _prefix(node.body)
    if isinstance(node, ast.Name):
        return DYNAMIC
    return None


def log_calls() -> list[LogCall]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "log"
                and node.func.attr in LEVELS
            ):
                continue
            where = f"{path.relative_to(PACKAGE)}:{node.lineno}"
            extra = next((k.value for k in node.keywords if k.arg == "extra"), None)
            if not isinstance(extra, ast.Dict):
                out.append(LogCall(where, None, frozenset()))
                continue
            keys, action = set(), None
            for key, value in zip(extra.keys, extra.values, strict=True):
                if key is None:
                    keys.add("**")
                elif isinstance(key, ast.Constant):
                    keys.add(str(key.value))
                    if key.value == "action":
                        action = _prefix(value)
            out.append(LogCall(where, action, frozenset(keys)))
    return out


CALLS = log_calls()


def test_there_are_log_calls_to_check() -> None:
    assert len(CALLS) > 40


@pytest.mark.parametrize("call", CALLS, ids=[c.where for c in CALLS])
def test_each_log_event_has_an_action_and_names_its_object(call: LogCall) -> None:
    assert call.action, f"{call.where}: log call without extra={{'action': ...}}"
    if call.action == DYNAMIC:  # its callers' actions: the refusals of a report's reply carry reference
        assert "reference" in call.keys, call.where
        return
    for prefix, fields in RULES.items():
        if call.action.startswith(prefix):
            assert call.keys & fields, f"{call.where}: action {call.action!r} needs one of {sorted(fields)}"
