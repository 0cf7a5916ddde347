"""The two record types of the diagnosis table: a ``Diagnosis`` (what the report says) and a ``Rule``."""

import dataclasses


@dataclasses.dataclass
class Diagnosis:
    """One explained divergence: a stable ``code``, the ``variable`` (if any) and the message."""

    code: str
    message: str
    variable: str = None

    def to_dict(self):
        return dataclasses.asdict(self)

    def __str__(self):
        return self.message


@dataclasses.dataclass(frozen=True)
class Rule:
    """``when(facts) -> bool`` selects the rule; ``message(facts) -> str``; ``variable(facts)`` names it."""

    code: str
    scope: str
    when: object
    message: object
    variable: object = None
