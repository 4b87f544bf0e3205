class CorrectionError(Exception):
    """A rule of key-data corrections was broken; the message is shown to the user as it is.

    `errors` maps field names (and "__all__") to messages, for forms to put beside their fields.
    """

    def __init__(self, message, errors=None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
