"""What a task log says about a body by default: its shape, never the user ids or attribute values in it.

An audience often names up to 1000 people (by e-mail address, say), and task logs are kept as long as the
deployment keeps them; the rendered payload is already in the task's rendered template fields for whoever
may see it. ``log_body=True`` logs the whole body instead.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

# Selectors whose value is a list of selectors, or one selector.
_COMBINING = frozenset({"and", "or"})
_NEGATING = "not"
# Keys that qualify the selector beside them ('group' beside 'tag', an attribute's operator and value).
_QUALIFIERS = frozenset({"group", "operator", "value", "precision"})


def body_summary(payload: dict[str, Any], size: int) -> str:
    """For example ``audience named_user (1000 ids), triggering_id 'abc', entrance_id 'daily-20261130',
    12,345 bytes``: the selector kinds and how many ids each names, the Sequence and entrance ids (which
    identify no one), and the size."""
    parts = []
    if "audience" in payload:
        parts.append(f"audience {_selector_counts(payload['audience'])}")
    parts.append(f"triggering_id {payload.get('triggering_id')!r}")
    if "entrance_id" in payload:
        parts.append(f"entrance_id {payload['entrance_id']!r}")
    if "global_attributes" in payload:
        parts.append(f"global_attributes with {len(payload['global_attributes'])} keys")
    parts.append(f"{size:,} bytes")
    return ", ".join(parts)


def _selector_counts(audience: Any) -> str:
    counts: Counter[str] = Counter()
    _count_ids(audience, counts)
    return ", ".join(f"{kind} ({count} id{'s' if count != 1 else ''})" for kind, count in counts.items())


def _count_ids(selector: Any, counts: Counter[str]) -> None:
    """How many ids (or values) each kind of selector names, combined selectors looked into."""
    if not isinstance(selector, dict):
        return
    for kind, value in selector.items():
        if kind in _COMBINING and isinstance(value, list):
            for inner in value:
                _count_ids(inner, counts)
        elif kind == _NEGATING:
            _count_ids(value, counts)
        elif kind not in _QUALIFIERS:
            counts[kind] += len(value) if isinstance(value, list) else 1
