from registrar.errors import DomainError


class GraduationError(DomainError):
    """A rule of graduation was broken; the message is shown to the user as it is."""
