"""The one exception services raise for anything a user can get wrong."""


class ServiceError(Exception):
    """A refusal with a message that is safe to show to the student as it is."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class RateLimited(ServiceError):
    """Too many attempts; the message says how to proceed."""
