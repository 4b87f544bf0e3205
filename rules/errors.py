from registrar.errors import DomainError


class RulesError(DomainError):
    """A rule that cannot be written as given; the message says why."""
