from registrar.errors import DomainError


class ProblemError(DomainError):
    """A rule of problem records (问题学籍) was broken; the message is shown to the user as it is."""
