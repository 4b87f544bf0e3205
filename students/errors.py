from registrar.errors import DomainError


class StudentError(DomainError):
    """A rule of the student record was broken; the message is shown to the user as it is.

    `errors` maps field names to messages when the refusal comes from checking a record (the keys of
    `students.validation.validate_record`); forms put them beside their fields.
    """
