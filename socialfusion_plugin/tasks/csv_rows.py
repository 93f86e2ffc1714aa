"""The rows of a headerless CSV annotation file, streamed, with errors that name the file and line."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterator, List, Tuple

from socialfusion_plugin.errors import UserInputError

from ..json_records import not_utf8_message


def csv_rows(path: Path) -> Iterator[Tuple[int, List[str]]]:
    """Non-empty CSV rows with their line numbers (utf-8-sig: some copies start with a BOM).
    A file that is not UTF-8, or a cell over csv's field size limit (128 KiB), stops the reading
    with a UserInputError naming the file and line."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        try:
            for fields in reader:
                if fields and any(f.strip() for f in fields):
                    yield reader.line_num, fields
        except csv.Error as err:
            raise UserInputError(f"{path}:{reader.line_num}: not readable as CSV ({err})") from None
        except UnicodeDecodeError:
            raise UserInputError(not_utf8_message(path)) from None
