from registrar.errors import DomainError


class VerificationError(DomainError):
    """A rule of the data-quality campaign or of the 人籍一致 check was broken; shown as it is."""
