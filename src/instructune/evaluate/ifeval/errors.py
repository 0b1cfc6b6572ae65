"""`InstructionError`: an instruction id or its arguments that cannot be checked."""

from __future__ import annotations


class InstructionError(ValueError):
    """An unknown instruction id, or a missing / unexpected / invalid argument.

    Args:
        message: what is wrong.
        field: where, relative to the prompt row ("instruction_id_list[1]", "kwargs[0].num_words"),
            or None.
    """

    def __init__(self, message: str, field: str | None = None):
        self.message, self.field = message, field
        super().__init__(f"{field}: {message}" if field else message)

    def under(self, prefix: str) -> InstructionError:
        """The same error with `prefix` put before its field ("kwargs[2]" + ".num_words")."""
        return InstructionError(self.message, f"{prefix}.{self.field}" if self.field else prefix)
