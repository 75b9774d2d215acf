"""The Slack form for reporting a question: the Report button opens a modal (views.open) with the
reason and the member's words; its submission is stored through the core and answered in place."""

from __future__ import annotations

import json

from bot.core import texts

REPORT_VIEW = "report"  # the modal's callback_id
REASON_BLOCK, REASON_ACTION = "reason", "reason"
TEXT_BLOCK, TEXT_ACTION = "text", "text"


def _plain(text: str) -> dict:
    return {"type": "plain_text", "text": text[:150], "emoji": True}


def report_view(question_id: str, *, channel: str = "") -> dict:
    """The modal: a reason (wrong key, unclear, outdated, typo) and what is wrong, in words."""
    options = [{"text": _plain(label.capitalize()), "value": value} for value, label in texts.REPORT_REASONS.items()]
    return {
        "type": "modal", "callback_id": REPORT_VIEW, "title": _plain("Report a question"),
        "submit": _plain("Report"), "close": _plain("Cancel"),
        "private_metadata": json.dumps({"question": question_id, "channel": channel}),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"Question *{question_id}*"}},
            {"type": "input", "block_id": REASON_BLOCK, "label": _plain("What is wrong?"),
             "element": {"type": "static_select", "action_id": REASON_ACTION, "options": options,
                         "placeholder": _plain("Pick a reason")}},
            {"type": "input", "block_id": TEXT_BLOCK, "label": _plain("Details"), "optional": True,
             "element": {"type": "plain_text_input", "action_id": TEXT_ACTION, "multiline": True,
                         "max_length": 1000, "placeholder": _plain("For example: B is right because ...")}},
        ],
    }


def submitted(view: dict) -> tuple[str, str, str]:
    """(question id, reason, text) from a view_submission's view."""
    meta = json.loads(view.get("private_metadata") or "{}")
    values = (view.get("state") or {}).get("values") or {}
    reason = ((values.get(REASON_BLOCK) or {}).get(REASON_ACTION) or {}).get("selected_option") or {}
    text = ((values.get(TEXT_BLOCK) or {}).get(TEXT_ACTION) or {}).get("value") or ""
    return str(meta.get("question") or ""), str(reason.get("value") or ""), str(text)


def done_view(text: str) -> dict:
    """What the modal shows after a submission: the core's answer."""
    return {
        "type": "modal", "title": _plain("Report a question"), "close": _plain("Close"),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}],
    }
