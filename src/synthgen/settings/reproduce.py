"""The dataset card's command that makes the dataset again, derived from the Specs."""

from __future__ import annotations

import shlex

from synthgen.settings.model import Settings


def reproduce_command(settings: Settings, seeds_path: str | None) -> str:
    """``synthgen expand`` with every setting whose Spec says the card reproduces it, when it
    differs from its default (-n and -o always): run, it makes the same job fingerprint."""
    args = ["synthgen", "expand", seeds_path or "SEEDS"]
    for name, info, spec in settings.specs():
        value = getattr(settings, name)
        if spec.reproduce == "never" or (
            spec.reproduce == "changed" and value == info.get_default(call_default_factory=True)
        ):
            continue
        if value is None:
            if spec.none_as is None:
                continue  # the flag cannot say None; leaving it out is the closest
            value = spec.none_as
        args += [spec.flags[0], str(value)]
    return shlex.join(args)
