from registrar.errors import DomainError


class SchoolYearError(DomainError):
    """A rule of the school year's turn (promotion, next year's classes) was broken."""
