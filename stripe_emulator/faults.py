"""Fault injection: make the next requests to a path fail the way networks and Stripe do.

``when="before"`` loses the request before the emulator processes it; ``when="after"``
processes it (state changes, the idempotent result is saved) and then loses or replaces the
response. The latter is the case idempotency keys exist for.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["error", "timeout", "disconnect", "rate_limit"]
FaultWhen = Literal["before", "after"]
KINDS: tuple[str, ...] = ("error", "timeout", "disconnect", "rate_limit")
WHENS: tuple[str, ...] = ("before", "after")


@dataclass
class Fault:
    path_prefix: str
    kind: FaultKind
    when: FaultWhen
    remaining: int


class FaultInjector:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, path_prefix: str, count: int, kind: str, when: str) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        if when not in WHENS:
            raise ValueError(f"when must be one of {WHENS}, not {when!r}")
        if count < 1:
            raise ValueError("count must be at least 1")
        fault = Fault(path_prefix, kind, when, count)  # type: ignore[arg-type]
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, path: str) -> Fault | None:
        """Consume one occurrence of the first fault whose prefix matches ``path``."""
        with self._lock:
            for fault in self._faults:
                if path.startswith(fault.path_prefix):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return Fault(fault.path_prefix, fault.kind, fault.when, 1)
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return [Fault(f.path_prefix, f.kind, f.when, f.remaining) for f in self._faults]
