"""CSV rows from a file that arrives in chunks: decoded incrementally, never whole in memory."""

from __future__ import annotations

import codecs
import csv
from collections import deque
from collections.abc import AsyncIterator

READ_AHEAD_CHARS = 2 * 1024 * 1024
"""Text kept decoded ahead of the parser: a record longer than this is refused."""


class _Lines:
    """The iterator csv.reader pulls lines from; refilled from the chunks between rows."""

    def __init__(self) -> None:
        self.lines: deque[str] = deque()
        self.buffered = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if not self.lines:
            raise StopIteration
        line = self.lines.popleft()
        self.buffered -= len(line)
        return line

    def add(self, text: str) -> None:
        for line in text.splitlines(keepends=True):
            self.lines.append(line)
            self.buffered += len(line)


class CsvRows:
    """``(line number, values)`` of each record after the header; the number is the record's
    first line in the file (the header is line 1), as a person sees it in an editor."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self.chunks = chunks
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
        self.feed = _Lines()
        self.partial = ""
        self.ended = False
        self.reader = csv.reader(self.feed, strict=True)
        self.header: list[str] = []

    async def _fill(self) -> None:
        while not self.ended and self.feed.buffered < READ_AHEAD_CHARS:
            chunk = await anext(self.chunks, None)
            if chunk is None:
                self.ended = True
                text = self.partial + self.decoder.decode(b"", final=True)
                self.partial = ""
            else:
                text = self.partial + self.decoder.decode(chunk)
                cut = max(text.rfind("\n"), text.rfind("\r"))
                text, self.partial = text[: cut + 1], text[cut + 1 :]
            self.feed.add(text)

    async def read_header(self) -> list[str]:
        await self._fill()
        self.header = [name.strip() for name in next(self.reader, [])]
        return self.header

    async def rows(self) -> AsyncIterator[tuple[int, list[str]]]:
        while True:
            await self._fill()
            start = self.reader.line_num + 1
            row = next(self.reader, None)
            if row is None:
                return
            if not any(value.strip() for value in row):
                continue  # blank lines say nothing
            yield start, row
