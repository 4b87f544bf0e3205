from registrar.errors import DomainError


class CorrectionError(DomainError):
    """A rule of key-data corrections was broken; the message is shown to the user as it is.

    `errors` maps field names (and "__all__") to messages, for forms to put beside their fields.
    """
