"""Read a JSON list (LLaVA's data format) one record at a time.

LLaVA's own dataset `json.load`s the whole file: for llava_v1_5_mix665k.json that is several GB of
Python objects in every training process. Streaming keeps the cache builder's memory flat, and a
file broken at its first record is reported at once (file, record, line), not after reading it all.
The reader itself is `json_records.iter_json_list`, shared with the annotation readers.
"""
from __future__ import annotations

from ..json_records import JsonListError, iter_json_list

__all__ = ["JsonListError", "iter_json_list"]
