"""The formats of the lines of a fine-tune training file, and the rules each line of a format must follow.

A line's format is read from its keys; the first line of a file decides the file's format, and every later line
must be of the same one (a file whose lines mix formats is refused naming the line and both formats):

* ``chat``: ``{"messages": [{"role": ..., "content": ...}, ...]}``, the format of SFT data the service documents
  (plain, thinking and tool-calling samples are all of it and may be mixed);
* ``preference``: ``{"messages": [...], "chosen": {...}, "rejected": {...}}``, DPO data;
* ``text``: ``{"text": "..."}``, continued pre-training (CPT) data;
* ``prompt/completion``: ``{"prompt": "...", "completion": "..."}``, a format of other services, named so that a
  line of it in a chat file is reported as such;
* ``other``: an object with none of those keys (its content is not checked).

The preference and text formats are those of the service's DPO and CPT pages as the provider reads them; only the
chat format is in the API reference.

**Turns of a chat sample.** Each message is an object with a non-empty string ``role`` and a ``content`` (a
string, a list of parts, or ``null``; it may be left out only beside ``tool_calls``). A chat sample must also have a
``user`` turn and end with an ``assistant`` turn: the service trains on the assistant's answers, so a sample
without a question or whose last turn is not an answer teaches nothing. This rule is inferred from the service's
description of SFT data, not quoted from it; ``check_chat_turns=False`` (on the upload operator and the hook's
``upload_file``) turns it off. A preference sample's ``messages`` need a ``user`` turn (its answers are
``chosen`` and ``rejected``).
"""

from __future__ import annotations

import json
from typing import Any

CHAT, PREFERENCE, TEXT, PROMPT_COMPLETION, OTHER = "chat", "preference", "text", "prompt/completion", "other"
#: The keys that name each format, as messages show them.
FORMAT_KEYS = {
    CHAT: "messages",
    PREFERENCE: "messages, chosen, rejected",
    TEXT: "text",
    PROMPT_COMPLETION: "prompt, completion",
    OTHER: "none of messages, text, prompt",
}
#: Characters of a line shown on each side of the place where its JSON breaks.
EXCERPT = 24


def record_format(record: dict[str, Any]) -> str:
    """The format of one training record (a JSON object), read from its keys."""
    if "messages" in record:
        return PREFERENCE if "chosen" in record or "rejected" in record else CHAT
    if "text" in record:
        return TEXT
    if "prompt" in record and "completion" in record:
        return PROMPT_COMPLETION
    return OTHER


def format_text(name: str) -> str:
    """``chat ("messages")``: a format and the keys that make it, for messages."""
    return f"{name} ({FORMAT_KEYS[name]})"


def record_problem(record: dict[str, Any], name: str, *, check_chat_turns: bool = True) -> str | None:
    """What is wrong with a record of format ``name``, or ``None``."""
    if name not in (CHAT, PREFERENCE):
        return None
    problem = _messages_problem(record["messages"])
    if problem is not None:
        return problem
    roles = [message.get("role") for message in record["messages"]]
    if name == PREFERENCE:
        if "user" not in roles:
            return "the preference sample's 'messages' have no 'user' turn"
        missing = [key for key in ("chosen", "rejected") if not isinstance(record.get(key), dict)]
        if missing:
            return f"the preference sample's {' and '.join(repr(k) for k in missing)} must be a message object"
        return None
    if check_chat_turns:
        if "user" not in roles:
            return (
                "the chat sample has no 'user' turn (roles: " + ", ".join(map(str, roles)) + "); a sample needs a "
                "question and the assistant's answer (check_chat_turns=False turns this check off)"
            )
        if roles[-1] != "assistant":
            return (
                f"the chat sample ends with a {roles[-1]!r} turn, not an 'assistant' one; the last turn must be the "
                "answer to train on (check_chat_turns=False turns this check off)"
            )
    return None


def _messages_problem(messages: Any) -> str | None:
    if not isinstance(messages, list) or not messages:
        return f"'messages' must be a non-empty list of message objects, got {json_type(messages)}"
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            return f"{where} is a JSON {json_type(message)}, not an object"
        role = message.get("role")
        if not isinstance(role, str) or not role.strip():
            return f"{where} has no 'role' (a string such as 'system', 'user' or 'assistant')"
        if "content" not in message:
            if "tool_calls" not in message:
                return f"{where} (role {role!r}) has no 'content'"
        elif not isinstance(message["content"], (str, list)) and message["content"] is not None:
            return f"{where} (role {role!r}) has a 'content' that is a JSON {json_type(message['content'])}"
    return None


def json_error_text(text: str, err: json.JSONDecodeError) -> str:
    """``Expecting ',' delimiter at column 102 of 102, after '…"content": "bye"}]'``: the place within the line
    (``text`` without its line ending) and a short excerpt around it."""
    pos = min(err.pos, len(text))
    before = text[max(0, pos - EXCERPT) : pos]
    after = text[pos : pos + EXCERPT]
    where = f"{err.msg} at column {pos + 1} of {len(text)}"
    if before:
        where += f", after {('…' if pos > EXCERPT else '') + before!r}"
    if after:
        where += f", before {after + ('…' if pos + EXCERPT < len(text) else '')!r}"
    return where


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__
