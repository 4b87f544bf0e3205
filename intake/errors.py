from registrar.errors import DomainError


class IntakeError(DomainError):
    """A rule of intake (升学) was broken; the message is shown to the user as it is."""
