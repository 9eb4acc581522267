"""The Order aggregate, pure: no I/O, no clock, no randomness (the caller passes time in).

Use: `decision = decide(state, command, now=...)`, store `decision.events`, then
`state = evolve(state, decision)`.
"""

from writer.domain import commands, errors, order, values

# Each module's `__all__` says what the package exports from it, so a new name is declared in one place.
from writer.domain.commands import *  # noqa: F403
from writer.domain.decisions import decide
from writer.domain.errors import *  # noqa: F403
from writer.domain.order import *  # noqa: F403
from writer.domain.values import *  # noqa: F403

__all__ = ["decide"]
__all__ += commands.__all__
__all__ += errors.__all__
__all__ += order.__all__
__all__ += values.__all__
