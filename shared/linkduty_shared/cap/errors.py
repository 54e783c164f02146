"""Errors of the CAP codec. All are `ValueError`s: they describe bad input, never a bug here."""


class CapError(ValueError):
    """A message that is not an acceptable CAP 1.2 alert; the text says what and where."""


class CapTooLargeError(CapError):
    """The message is over the size limit (an API answers 413 rather than 400)."""


class CapForbiddenMarkupError(CapError):
    """The message carries a DTD or entity declarations: refused before anything is expanded.

    A separate class so that an API can log it as a probable attack, not a partner's typo.
    """
