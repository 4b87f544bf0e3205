"""The one base of every domain error: a rule was broken, and the message says which, in the user's
language. Views catch `DomainError` and show `error.message`; services raise the app's subclass
(`ApprovalError`, `StudentError`, `TransferError`, `CorrectionError`) and never re-wrap one
another's errors, so that a rule checked in students/ reaches a transfer's page unchanged."""


class DomainError(Exception):
    """A broken rule; `message` is shown to the user as it is.

    `errors` maps field names (and "__all__") to messages when the refusal comes from checking a
    form's worth of values, so that forms can put each beside its field.
    """

    def __init__(self, message, errors=None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class ApprovalError(DomainError):
    """A rule of the approval engine was broken (a state that does not allow the action, a missing
    reason, a step decided meanwhile)."""
