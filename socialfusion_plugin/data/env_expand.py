"""`${VAR}` and `${VAR:-default}` in data recipes, so shipped recipes name no cluster paths.

Only these two shell forms are expanded (a bare `$VAR` is left alone, so a literal `$` in a path
stays possible). An unset variable without a default is an error naming the key and the file,
never an empty string that would silently point somewhere else.
"""
from __future__ import annotations

import os
import re
from typing import Mapping, Optional
from socialfusion_plugin.errors import UserInputError

_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class RecipeError(UserInputError):
    """A data recipe is malformed; the message names the file and the key."""


def expand_variables(text: str, where: str, environ: Optional[Mapping[str, str]] = None) -> str:
    environ = os.environ if environ is None else environ

    def replace(match: "re.Match[str]") -> str:
        name, default = match.group(1), match.group(2)
        value = environ.get(name)
        if value:  # as the shell's ':-': an empty variable also takes the default
            return value
        if default is not None:
            return default
        raise RecipeError(f"{where}: environment variable {name} is not set and has no default "
                          f"(write ${{{name}:-default}} or export {name})")

    return _PATTERN.sub(replace, text)
