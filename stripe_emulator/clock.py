"""The emulator clock: wall-clock time plus an adjustable offset.

Tests move time forward with :meth:`Clock.advance` instead of sleeping; the offset is persisted
by the store so that a restarted standalone emulator keeps its notion of "now".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Clock:
    def __init__(self, offset: int = 0, on_change: Callable[[int], None] | None = None) -> None:
        self._offset = offset
        self._on_change = on_change
        self._lock = threading.Lock()

    @property
    def offset(self) -> int:
        return self._offset

    def now(self) -> int:
        return int(time.time()) + self._offset

    def advance(self, seconds: int) -> int:
        if seconds < 0:
            raise ValueError("the emulator clock only moves forward")
        with self._lock:
            self._offset += int(seconds)
            offset = self._offset
        if self._on_change is not None:
            self._on_change(offset)
        return self.now()

    def set_offset(self, offset: int) -> None:
        with self._lock:
            self._offset = offset
