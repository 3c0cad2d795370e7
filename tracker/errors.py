"""Domain errors: one plain Chinese sentence for the user, and the HTTP status a door should answer."""


class DomainError(Exception):
    status_code = 422

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class Invalid(DomainError):
    """The input breaks a rule (a missing comment, a deadline in the past, an unknown owner)."""

    status_code = 422


class Forbidden(DomainError):
    """The user may see the thing but not do this to it."""

    status_code = 403


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    """Not allowed in the item's current status, or the item changed since it was read."""

    status_code = 409


class Unavailable(DomainError):
    """A service tracker relies on (the file storage) cannot be reached just now."""

    status_code = 503
