"""What verified tokens proved, remembered, and nothing else.

The verifier remembers the tokens it verified (so that a client's next request with the same
token costs a dict lookup and the claim checks) and the headers they carried; the chooser
remembers which config verified a token. Every such memory is keyed by what a client sends,
so one rule holds for all of them, stated here once: only code that has just verified a
token calls :meth:`Verified.remember`, so no forged token can enter (and change how the next
token is treated), and each memory is bounded (cleared when full: flooding it only costs
the work it saves).
"""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["Verified"]

K = TypeVar("K")
V = TypeVar("V")


class Verified(dict[K, V], Generic[K, V]):
    """A bounded memory of what verified tokens proved: read it as a dict, fill it only with
    :meth:`remember`, after a token passed every check."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def remember(self, key: K, value: V) -> None:
        """Keep ``value`` for ``key`` (call it only once the token behind it has verified)."""
        if len(self) >= self.size:
            self.clear()
        self[key] = value
