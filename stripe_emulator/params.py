"""Decoding of Stripe's form-encoded nested parameters and typed access to them.

Stripe clients send ``a[b][0][c]=x``, ``expand[]=y``, ``metadata[k]=v``. We rebuild the nested
structure (dicts, and lists wherever every key of a level is an index) so that handlers can
work with plain Python values, and so that idempotency fingerprints ignore parameter order.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from .errors import StripeError, invalid, missing_param

_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def _split_key(key: str) -> list[str]:
    match = _KEY_RE.match(key)
    if not match:
        raise StripeError(f"Invalid parameter name: {key}", code="parameter_invalid", param=key)
    parts = [match.group(1)]
    parts.extend(re.findall(r"\[([^\[\]]*)\]", match.group(2)))
    return parts


def _listify(node: Any) -> Any:
    if isinstance(node, dict):
        converted = {k: _listify(v) for k, v in node.items()}
        if converted and all(k.isdigit() for k in converted):
            return [converted[k] for k in sorted(converted, key=int)]
        return converted
    return node


def decode_pairs(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = _split_key(key)
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":
                # "x[]" appends: give the element the next free index of this level.
                part = str(len(node))
            if last:
                node[part] = value
            else:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = {}
                    node[part] = child
                node = child
    result = _listify(root)
    assert isinstance(result, dict)
    return result


def decode(raw: str | bytes) -> dict[str, Any]:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    return decode_pairs(parse_qsl(raw, keep_blank_values=True))


class Params:
    """Typed, validating access to decoded parameters of one request."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str) -> Any:
        return self.data.get(key)

    def check_known(self, allowed: set[str] | frozenset[str]) -> None:
        # Stripe rejects unknown top-level parameters; mirroring that catches typos in the app.
        for key in self.data:
            if key not in allowed and key != "expand":
                raise StripeError(
                    f"Received unknown parameter: {key}", code="parameter_unknown", param=key
                )

    def get_str(
        self, key: str, *, required: bool = False, default: str | None = None
    ) -> str | None:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                raise missing_param(key)
            return default
        if not isinstance(value, str):
            raise invalid(f"Invalid string: {key}", param=key)
        return value

    def req_str(self, key: str) -> str:
        value = self.get_str(key, required=True)
        assert value is not None
        return value

    def get_int(
        self, key: str, *, required: bool = False, default: int | None = None
    ) -> int | None:
        return as_int(self.data.get(key), key, required=required, default=default)

    def req_int(self, key: str) -> int:
        value = self.get_int(key, required=True)
        assert value is not None
        return value

    def get_bool(self, key: str, default: bool | None = None) -> bool | None:
        return as_bool(self.data.get(key), key, default)

    def get_dict(self, key: str) -> dict[str, Any]:
        value = self.data.get(key)
        if value is None or value == "":
            return {}
        if not isinstance(value, dict):
            raise invalid(f"Invalid hash: {key}", param=key)
        return value

    def get_list(self, key: str) -> list[Any]:
        value = self.data.get(key)
        if value is None or value == "":
            return []
        if isinstance(value, str):
            return [value]
        if isinstance(value, dict):
            raise invalid(f"Invalid array: {key}", param=key)
        return list(value)

    def expand(self) -> list[str]:
        return [str(v) for v in self.get_list("expand")]

    def metadata(self, key: str = "metadata") -> dict[str, str] | None:
        """Return the metadata *update* (``""`` values mean "unset"), or None if absent."""
        if key not in self.data:
            return None
        value = self.data[key]
        if value == "":
            return {}
        if not isinstance(value, dict):
            raise invalid(f"Invalid hash: {key}", param=key)
        return validate_metadata(value, key)

    def currency(self, key: str = "currency", *, required: bool = True) -> str | None:
        value = self.get_str(key, required=required)
        if value is None:
            return None
        if not re.fullmatch(r"[A-Za-z]{3}", value):
            raise invalid(f"Invalid currency: {value}.", param=key)
        return value.lower()


def as_int(
    value: Any, key: str, *, required: bool = False, default: int | None = None
) -> int | None:
    if value is None or value == "":
        if required:
            raise missing_param(key)
        return default
    if isinstance(value, int):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value):
        raise invalid(f"Invalid integer: {value}", param=key)
    return int(value)


def as_bool(value: Any, key: str, default: bool | None = None) -> bool | None:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise invalid(f"Invalid boolean: {value}", param=key)


def validate_metadata(value: dict[str, Any], key: str = "metadata") -> dict[str, str]:
    if len(value) > 50:
        raise invalid("Metadata can have a maximum of 50 keys.", param=key)
    out: dict[str, str] = {}
    for k, v in value.items():
        if not isinstance(v, str):
            raise invalid(
                f"Invalid value for metadata key {k}: must be a string.", param=f"{key}[{k}]"
            )
        if len(k) > 40:
            raise invalid("Metadata keys can have a maximum length of 40 characters.", param=key)
        if len(v) > 500:
            raise invalid(
                "Metadata values can have a maximum length of 500 characters.",
                param=f"{key}[{k}]",
            )
        out[k] = v
    return out


def apply_metadata(current: dict[str, str], update: dict[str, str] | None) -> dict[str, str]:
    """Merge a metadata update like Stripe does: empty string unsets a key."""
    if update is None:
        return current
    if not update:
        # ``metadata=`` (empty) clears everything.
        return {}
    merged = dict(current)
    for k, v in update.items():
        if v == "":
            merged.pop(k, None)
        else:
            merged[k] = v
    return merged
