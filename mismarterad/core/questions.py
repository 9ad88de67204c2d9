"""An operator's question to the language model, checked where it is typed (the CLI, the
control socket) before anything is sent: text of a sane length, without control characters."""

from __future__ import annotations

import unicodedata

__all__ = ["MAX_QUESTION_CHARS", "bad_question"]

MAX_QUESTION_CHARS = 2000


def bad_question(question: str) -> str | None:
    """Why `question` cannot be asked (empty, too long, control characters), or None."""
    if not question.strip():
        return "the question is empty"
    if len(question) > MAX_QUESTION_CHARS:
        return f"the question is {len(question)} characters long; at most {MAX_QUESTION_CHARS}"
    if any(unicodedata.category(ch).startswith("C") and ch != "\n" for ch in question):
        return "the question may not contain control characters"
    return None
