"""Accessors for MATLAB structs as scipy.io.loadmat returns them.

The same EMOTIC field loads as a 0-d array, a 1-element array, a plain Python value or a nested
(1, 1) object array depending on its size and on the loadmat flags (a one-category cell squeezes
to a bare string, a one-person image to a single struct instead of a list). These helpers turn
every form into plain lists, strings and floats, so the reader never indexes `[0][0]` blindly.
"""
from __future__ import annotations

import math
from typing import Any, List, Optional

import numpy as np
from socialfusion_plugin.errors import UserInputError


class MatFieldError(UserInputError):
    """A struct lacks a field or holds a value of the wrong kind (one record is malformed)."""


def _is_struct(value: Any) -> bool:
    if isinstance(value, np.void) and value.dtype.names:
        return True
    return hasattr(value, "_fieldnames")  # scipy's mat_struct (struct_as_record=False)


def _unwrap(value: Any) -> Any:
    """Strip the size-1 array layers MATLAB adds around a single value."""
    while isinstance(value, np.ndarray) and value.dtype.names is None and value.size == 1:
        value = value.reshape(-1)[0]
    if isinstance(value, np.ndarray) and value.dtype.names is not None and value.size == 1:
        value = value.reshape(-1)[0]
    return value


def has_field(struct: Any, name: str) -> bool:
    struct = _unwrap(struct)
    if isinstance(struct, np.void):
        return name in (struct.dtype.names or ())
    return name in (getattr(struct, "_fieldnames", None) or ())


def field(struct: Any, name: str) -> Any:
    """`struct.name`, whichever way loadmat represented the struct; MatFieldError if absent."""
    struct = _unwrap(struct)
    if not _is_struct(struct):
        raise MatFieldError(f"expected a struct with field {name!r}, got {type(struct).__name__}")
    if not has_field(struct, name):
        raise MatFieldError(f"struct has no field {name!r}")
    return struct[name] if isinstance(struct, np.void) else getattr(struct, name)


def elements(value: Any) -> List[Any]:
    """The elements of a struct array or cell array as a list: [] for an empty array, one element
    for a squeezed single struct, string or number."""
    if value is None:
        return []
    if isinstance(value, np.ndarray):
        if value.dtype.names is not None:
            return list(value.reshape(-1))
        if value.dtype.kind in "US":  # a char array that is one string
            return [as_string(value)] if value.size else []
        return [_unwrap(item) for item in value.reshape(-1)]
    return [value]


def as_string(value: Any) -> str:
    value = _unwrap(value)
    if isinstance(value, np.ndarray):
        if value.size == 0:
            return ""
        if value.dtype.kind in "US":
            return "".join(str(part) for part in value.reshape(-1))
        raise MatFieldError(f"expected text, got an array of {value.dtype}")
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return str(value)  # np.str_ -> str, so metas hold plain types
    raise MatFieldError(f"expected text, got {type(value).__name__}")


def strings(value: Any) -> List[str]:
    """A cell array of strings (possibly squeezed to one string, or empty) as a list."""
    return [as_string(item) for item in elements(value)]


def as_float(value: Any) -> Optional[float]:
    """A scalar as float; None for an empty value or NaN (EMOTIC's missing continuous ratings)."""
    value = _unwrap(value)
    if isinstance(value, np.ndarray):
        if value.size == 0:
            return None
        raise MatFieldError(f"expected a number, got an array of shape {value.shape}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise MatFieldError(f"expected a number, got {value!r}") from None
    return None if math.isnan(number) else number


def numbers(value: Any) -> List[float]:
    """A numeric vector (e.g. a box) as a list of floats, NaNs kept."""
    value = _unwrap(value) if not isinstance(value, np.ndarray) else value
    try:
        array = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise MatFieldError(f"expected numbers, got {value!r}") from None
    return [float(x) for x in array]
