"""The sensor's flash template library: numbered slots ("pages" in the manual) holding 512-byte templates."""

from __future__ import annotations

from collections.abc import Iterator

INDEX_PAGES = 4
SLOTS_PER_INDEX_PAGE = 256
MAX_CAPACITY = INDEX_PAGES * SLOTS_PER_INDEX_PAGE


class TemplateLibrary:
    """Slots 0..capacity-1, each empty or holding a template."""

    def __init__(self, capacity: int) -> None:
        if not 1 <= capacity <= MAX_CAPACITY:
            raise ValueError(f"capacity must be 1..{MAX_CAPACITY}, not {capacity}")
        self.capacity = capacity
        self._slots: dict[int, bytes] = {}

    def __len__(self) -> int:
        return len(self._slots)

    def __contains__(self, position: int) -> bool:
        return position in self._slots

    def valid(self, position: int) -> bool:
        return 0 <= position < self.capacity

    def store(self, position: int, template: bytes) -> None:
        self._slots[position] = template

    def load(self, position: int) -> bytes | None:
        return self._slots.get(position)

    def delete(self, start: int, count: int) -> None:
        for position in range(start, start + count):
            self._slots.pop(position, None)

    def clear(self) -> None:
        self._slots.clear()

    def occupied(self, start: int = 0, count: int = MAX_CAPACITY) -> Iterator[tuple[int, bytes]]:
        """Stored templates with start <= position < start + count, lowest position first."""
        for position in sorted(self._slots):
            if start <= position < start + count:
                yield position, self._slots[position]

    def index_page(self, page: int) -> bytes:
        """The 32-byte occupancy bitmap of one index page: bit b of byte j is slot page*256 + 8j + b."""
        bitmap = bytearray(SLOTS_PER_INDEX_PAGE // 8)
        first = page * SLOTS_PER_INDEX_PAGE
        for position in self._slots:
            offset = position - first
            if 0 <= offset < SLOTS_PER_INDEX_PAGE:
                bitmap[offset // 8] |= 1 << (offset % 8)
        return bytes(bitmap)
