"""The one base class of user mistakes.

`UserInputError` is what the plugin raises for something the user gave (a file, a record, a flag,
an option): the CLI prints it as one line naming what to fix. Any other exception out of a command
is a bug, in the plugin or below it, and keeps its traceback, so it never looks like a user mistake.
"""
from __future__ import annotations


class UserInputError(ValueError):
    """A mistake in the user's input; the message names the file, record or flag and what to do."""
