from registrar.errors import DomainError


class TransferError(DomainError):
    """A rule of 学籍异动 was broken; the message is shown to the user as it is."""
