"""Exceptions that carry a message meant for the user."""


class Refused(Exception):
    """A guard said no; `message` says why, in the user's language."""

    status = 409

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotAllowed(Exception):
    status = 403

    def __init__(self, message: str = ""):
        super().__init__(message)
        self.message = message


class NotFound(Exception):
    status = 404
