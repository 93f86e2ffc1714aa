"""JSON files of records: reading a file whose top level must have one shape (a list of LLaVA
records, an annotation object) with errors that name the file, the record and the line, and writing
a record list one record at a time so that a half-written file never takes the output's name.

Reading streams the top level element by element: a file broken at its first record is reported
after one chunk, whatever its size, and memory holds one chunk plus the element being read. What
Python's own parser would raise without naming anything (bytes that are not UTF-8, nesting deeper
than the recursion limit, integers longer than Python's int_max_str_digits) is reported the same
way, as the caller's error type.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import re
import sys
from pathlib import Path
from typing import Any, Iterator, List, Optional, Tuple, Type
from socialfusion_plugin.errors import UserInputError

_DECODER = json.JSONDecoder()
_WHITESPACE = re.compile(r"[ \t\r\n\ufeff]*")
# A value that ends (or fails) this close to the end of the buffer may be cut at the chunk edge
# ("1." of "1.5", "tru" of "true", half a "\\uXXXX\\uXXXX" pair): it is decoded again with more text.
_CUT_MARGIN = 16
_TOP_KINDS = {"[": list, "{": dict}
# The common case of an object entry's key and of the separator after a value, matched in one step
# (a key with escapes, or text near the end of the buffer, takes the general path).
_PLAIN_KEY = re.compile(r'"([^"\\\x00-\x1f]*)"[ \t\r\n]*:[ \t\r\n]*')
_SEPARATOR = re.compile(r"[ \t\r\n]*([,}])[ \t\r\n]*")


class JsonListError(UserInputError):
    """A file that must be one JSON list of records is not (the message names the file and record)."""


class InputFileError(UserInputError):
    """An input file cannot be read as the format it must have (the message names the file)."""


def check_input_file(path: Path, what: str, error: Type[ValueError] = InputFileError, hint: str = "") -> Path:
    """`path` as an existing regular file: FileNotFoundError when missing, `error` for a folder."""
    path = Path(path)
    if path.is_dir():
        raise error(f"{path}: is a folder, not the {what}")
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} not found" + (f" ({hint})" if hint else ""))
    return path


def not_utf8_message(path: Path) -> str:
    """'<path>:<line>: not UTF-8 text (...)' for a file that failed to decode, locating the first
    bad byte by a second pass over the bytes (the decoder's own offset is relative to a chunk)."""
    path = Path(path)
    line, offset, pending = 1, 0, b""
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(1 << 20)
            data = pending + chunk
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as err:
                line += data.count(b"\n", 0, err.start)
                if chunk and err.reason == "unexpected end of data":  # a character cut at the chunk edge
                    offset += err.start
                    pending = data[err.start:]
                    continue
                return (f"{path}:{line}: not UTF-8 text (byte 0x{data[err.start]:02x} at byte offset "
                        f"{offset + err.start}); save the file as UTF-8")
            if not chunk:
                return f"{path}: not UTF-8 text; save the file as UTF-8"
            line += data.count(b"\n")
            offset += len(data)
            pending = b""


class _Scanner:
    """The text of one JSON file as a sliding buffer: values are decoded with the C decoder at a
    position, and the buffer grows only while one value is incomplete."""

    def __init__(self, path: Path, error: Type[ValueError], handle=None, text: Optional[str] = None,
                 chunk_size: int = 1 << 20):
        self.path, self.error, self.handle, self.chunk_size = path, error, handle, chunk_size
        self.buffer = text or ""
        self.position = 0
        self.eof = handle is None
        self.lines_before = 0  # newlines in the text already dropped from the buffer
        self._counted_to, self._counted = 0, 0  # newlines in buffer[:_counted_to], counted once

    def _newlines_before(self, position: int) -> int:
        """Newlines in buffer[:position]; counted incrementally, since keys are located in order."""
        if position < self._counted_to:
            return self.buffer.count("\n", 0, position)
        self._counted += self.buffer.count("\n", self._counted_to, position)
        self._counted_to = position
        return self._counted

    def refill(self) -> None:
        # read at least as much as is pending, so a value spanning many chunks is decoded O(log n) times
        pending = len(self.buffer) - self.position
        try:
            more = self.handle.read(max(self.chunk_size, pending))
        except UnicodeDecodeError:
            raise self.error(not_utf8_message(self.path)) from None
        self.lines_before += self._newlines_before(self.position)
        self.buffer, self.position, self.eof = self.buffer[self.position:] + more, 0, not more
        self._counted_to, self._counted = 0, 0

    def line(self, position: Optional[int] = None) -> int:
        position = self.position if position is None else position
        return self.lines_before + self._newlines_before(position) + 1

    def peek(self) -> str:
        while self.position >= len(self.buffer) and not self.eof:
            self.refill()
        return self.buffer[self.position] if self.position < len(self.buffer) else ""

    def skip_whitespace(self) -> None:
        while True:
            self.position = _WHITESPACE.match(self.buffer, self.position).end()
            if self.position < len(self.buffer) or self.eof:
                return
            self.refill()

    def take(self, pattern: "re.Pattern[str]") -> Optional[str]:
        """Group 1 of `pattern` matched at the position, which moves past it; None when it does not
        match, or ends too close to the buffer's end to be whole (the caller takes the general path)."""
        match = pattern.match(self.buffer, self.position)
        if match is None or not (self.eof or match.end() + _CUT_MARGIN < len(self.buffer)):
            return None
        self.position = match.end()
        return match.group(1)

    def next_character(self) -> str:
        """The next character after whitespace, stepped past ('' at the end of the file)."""
        self.skip_whitespace()
        character = self.peek()
        self.position += 1 if character else 0
        return character

    def fail(self, message: str, position: Optional[int] = None):
        raise self.error(f"{self.path}: {message} (line {self.line(position)})")

    def decode(self, what: str) -> Any:
        """The value at the current position; `what` names it in errors ("record 3")."""
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buffer, self.position)
            except json.JSONDecodeError as err:
                cut = err.msg.startswith("Unterminated string") or err.pos + _CUT_MARGIN >= len(self.buffer)
                if cut and not self.eof:
                    self.refill()
                    continue
                raise self.error(f"{self.path}: {what} is not valid JSON: {err.msg} "
                                 f"(line {self.line(err.pos)})") from None
            except RecursionError:
                self.fail(f"{what} is nested too deeply to read")
            except ValueError:  # an integer longer than Python's int_max_str_digits
                limit = getattr(sys, "get_int_max_str_digits", lambda: "the allowed")()
                self.fail(f"{what} holds an integer of more than {limit} digits, more than Python converts")
            if end + _CUT_MARGIN >= len(self.buffer) and not self.eof:
                self.refill()
                continue
            self.position = end
            return value

    def expect_end(self) -> None:
        self.skip_whitespace()
        if self.peek():
            self.fail(f"unexpected text after the top-level value: {self.buffer[self.position:self.position + 20]!r}")


def _open_container(scanner: _Scanner, what: str, opener: str, closer: str) -> bool:
    """Steps into the top-level list or object; True when it is empty (and nothing follows it)."""
    scanner.skip_whitespace()
    if scanner.peek() != opener:
        raise scanner.error(f"{scanner.path}: {what}; it does not start with '{opener}'")
    scanner.position += 1
    scanner.skip_whitespace()
    if scanner.peek() != closer:
        return False
    scanner.position += 1
    scanner.expect_end()
    return True


def _list_items(scanner: _Scanner, what: str) -> Iterator[Tuple[int, Any]]:
    if _open_container(scanner, what, "[", "]"):
        return
    for index in itertools.count():
        yield index, scanner.decode(f"record {index}")
        if _closed(scanner, scanner.next_character(), "]", f"record {index}"):
            return
        scanner.skip_whitespace()


def _object_items(scanner: _Scanner, what: str) -> Iterator[Tuple[str, Any, int]]:
    if _open_container(scanner, what, "{", "}"):
        return
    previous = None
    while True:
        line = scanner.line()
        key = scanner.take(_PLAIN_KEY)
        if key is None:
            key = _general_key(scanner, previous)
        yield key, scanner.decode(f"the value of key {key!r}"), line
        separator = scanner.take(_SEPARATOR)
        if separator is None:
            separator = scanner.next_character()
            scanner.skip_whitespace()
        if _closed(scanner, separator, "}", f"the value of key {key!r}"):
            return
        previous = key


def _closed(scanner: _Scanner, separator: str, closer: str, after: str) -> bool:
    """After an item: True at the closing bracket (nothing may follow it), False at ','; any other
    separator fails, naming what it came `after`."""
    if separator == closer:
        scanner.expect_end()
        return True
    if separator != ",":
        found = repr(separator) if separator else "the end of the file"
        scanner.fail(f"expected ',' or '{closer}' after {after}, found {found}")
    return False


def _general_key(scanner: _Scanner, previous: Optional[str]) -> str:
    after = f"after key {previous!r}" if previous is not None else "at the start of the object"
    scanner.skip_whitespace()
    if scanner.peek() != '"':
        scanner.fail(f"expected a key in double quotes {after}")
    key = scanner.decode(f"the key {after}")
    scanner.skip_whitespace()
    if scanner.peek() != ":":
        scanner.fail(f"expected ':' after key {key!r}")
    scanner.position += 1
    scanner.skip_whitespace()
    return key


def iter_json_list(path: Path, chunk_size: int = 1 << 20, error: Type[ValueError] = JsonListError,
                   what: str = "a LLaVA data file is one JSON list of records") -> Iterator[Tuple[int, Any]]:
    """(index, record) for each element of the top-level JSON list in `path`, read in chunks."""
    with open(path, "r", encoding="utf-8") as handle:
        yield from _list_items(_Scanner(Path(path), error, handle, chunk_size=chunk_size), what)


def iter_json_object(path: Path, chunk_size: int = 1 << 20, error: Type[ValueError] = InputFileError,
                     what: str = "expected a JSON object", text: Optional[str] = None
                     ) -> Iterator[Tuple[str, Any, int]]:
    """(key, value, line of the key) for each entry of the top-level JSON object in `path`, in file
    order and with repeated keys kept (json.load would keep only the last). `text`: the file's text,
    when the caller already holds it."""
    with open(path, "r", encoding="utf-8") if text is None else contextlib.nullcontext() as handle:
        yield from _object_items(_Scanner(Path(path), error, handle, text, chunk_size), what)


def read_json(path: Path, what: str = "data file", kind: type = list, expected: str = "a JSON list of records",
              error: Type[ValueError] = InputFileError, hint: str = "") -> Any:
    """The JSON value in `path`. Missing file -> FileNotFoundError; a folder, not JSON, not of
    `kind`, or an object with a key listed twice -> `error` naming the file and line."""
    path = check_input_file(path, what, error, hint)
    with open(path, "r", encoding="utf-8") as handle:
        scanner = _Scanner(path, error, handle)
        scanner.skip_whitespace()
        found = _TOP_KINDS.get(scanner.peek())
        if found is None:  # a scalar: read it to name its type
            found = type(scanner.decode("the top-level value"))
        if found is not kind or kind not in (list, dict):
            raise error(f"{path}: expected {expected}, got {found.__name__}")
        if kind is list:
            return [value for _, value in _list_items(scanner, f"expected {expected}")]
        data = {}
        for key, value, line in _object_items(scanner, f"expected {expected}"):
            if key in data:
                raise error(f"{path}: key {key!r} is listed twice (line {line}); json.load would keep only the last")
            data[key] = value
        return data


def read_json_list(path: Path, what: str = "data file", error: Type[ValueError] = InputFileError,
                   hint: str = "") -> List[Any]:
    return read_json(path, what, list, "a JSON list of records", error, hint)
