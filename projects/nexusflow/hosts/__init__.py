"""Host models NexusFlow attaches to: UniAD stage 1 and the dense
multi-task networks."""
from . import dense, uniad  # noqa: F401
