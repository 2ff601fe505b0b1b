"""Every knob of an ``expand`` run, declared once.

Each field of :class:`Settings` (``model.py``) carries its type, default and range, and a
:class:`Spec` (``spec.py``): its command-line flags, help text and help group, whether another
value makes another job, and whether the dataset card's reproduce command spells it out. The
CLI's ``expand`` options, the job fingerprint (``run.job.job_identity``), the reproduce
command (``reproduce.py``) and the README's flag table (``scripts/flags_table.py``) are all
derived from these declarations.
"""

from synthgen.settings.base import CLI_CONTEXT
from synthgen.settings.model import (
    DEFAULT_MODEL,
    DEMO_MODEL,
    Settings,
    Transport,
    env_base_url,
    env_model,
)
from synthgen.settings.reproduce import reproduce_command
from synthgen.settings.spec import Spec, spec_of

__all__ = [
    "CLI_CONTEXT",
    "DEFAULT_MODEL",
    "DEMO_MODEL",
    "Settings",
    "Spec",
    "Transport",
    "env_base_url",
    "env_model",
    "reproduce_command",
    "spec_of",
]
