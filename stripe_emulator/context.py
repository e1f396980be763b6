"""Per-operation context handed to resource functions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .params import Params

if TYPE_CHECKING:
    from .emulator import Emulator
    from .store import Store


@dataclass
class Ctx:
    emu: Emulator
    now: int
    account: str = ""  # "" is the platform; otherwise the connected account acted on
    params: Params = field(default_factory=lambda: Params({}))
    request_id: str | None = None
    idempotency_key: str | None = None
    path: str = ""

    @property
    def store(self) -> Store:
        return self.emu.store

    def event_request(self) -> dict[str, Any]:
        return {"id": self.request_id, "idempotency_key": self.idempotency_key}

    def for_account(self, account: str) -> Ctx:
        """Same request, acting on another account (e.g. the destination of a transfer)."""
        return Ctx(
            emu=self.emu,
            now=self.now,
            account=account,
            params=self.params,
            request_id=self.request_id,
            idempotency_key=self.idempotency_key,
            path=self.path,
        )
