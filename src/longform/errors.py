"""Errors that the CLI turns into one clear line and exit code 2.

Anything the user can fix (bad input, an unknown backend, a server that cannot be
reached) is a `LongformError`; everything else is a bug and keeps its traceback.
"""


class LongformError(Exception):
    """A problem the user can fix; the message is shown as one line."""


class UsageError(LongformError):
    """Bad input: an empty instruction, an unreadable file, a malformed option."""


class BackendError(LongformError):
    """A model call failed for good (after retries). Never becomes output text."""
