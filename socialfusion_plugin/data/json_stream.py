"""Read a JSON list (LLaVA's data format) one record at a time.

LLaVA's own dataset `json.load`s the whole file: for llava_v1_5_mix665k.json that is several GB of
Python objects in every training process. Streaming keeps the cache builder's memory flat.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator, Tuple

_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\r\n\ufeff"


class JsonListError(ValueError):
    pass


class _Reader:
    def __init__(self, handle, chunk_size: int):
        self.handle, self.chunk_size = handle, chunk_size
        self.buffer, self.position, self.eof = "", 0, False

    def refill(self) -> None:
        more = self.handle.read(self.chunk_size)
        self.buffer, self.position, self.eof = self.buffer[self.position:] + more, 0, not more

    def peek(self) -> str:
        while self.position >= len(self.buffer) and not self.eof:
            self.refill()
        return self.buffer[self.position] if self.position < len(self.buffer) else ""

    def skip_whitespace(self) -> None:
        while self.peek() and self.buffer[self.position] in _WHITESPACE:
            self.position += 1

    def decode(self, path: Path, index: int):
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buffer, self.position)
            except json.JSONDecodeError as err:
                if self.eof:
                    raise JsonListError(f"{path}: record {index} is not valid JSON: {err.msg}") from None
                self.refill()
                continue
            # a number cut at the chunk edge decodes as a shorter number: only trust a value that ends
            # before the buffer does
            if end >= len(self.buffer) and not self.eof:
                self.refill()
                continue
            self.position = end
            return value


def iter_json_list(path: Path, chunk_size: int = 1 << 20) -> Iterator[Tuple[int, object]]:
    """(index, record) for each element of the top-level JSON list in `path`."""
    path = Path(path)
    with open(path, "r", encoding="utf-8") as handle:
        reader = _Reader(handle, chunk_size)
        reader.skip_whitespace()
        if reader.peek() != "[":
            raise JsonListError(f"{path}: a LLaVA data file is one JSON list of records; it does not start with '['")
        reader.position += 1
        reader.skip_whitespace()
        if reader.peek() == "]":
            return
        index = 0
        while True:
            yield index, reader.decode(path, index)
            index += 1
            reader.skip_whitespace()
            separator = reader.peek()
            if separator == "]":
                return
            if separator != ",":
                found = repr(separator) if separator else "the end of the file"
                raise JsonListError(f"{path}: expected ',' or ']' after record {index - 1}, found {found}")
            reader.position += 1
            reader.skip_whitespace()
