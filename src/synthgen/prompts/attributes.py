"""Attribute lists for conditioned generation (``--attributes attrs.yaml``), e.g.::

    persona: [a student, a retired nurse, a small-business owner]
    difficulty: [beginner, expert]
    topic: [billing, privacy]

Every combination is one request condition; requests walk through a seeded shuffle of all
combinations, so each appears once before any repeats.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from synthgen.errors import ConfigError

Attributes = dict[str, list[Any]]


def load_attributes(path: str | Path) -> Attributes:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such attributes file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{p}: cannot read attributes: {e}") from None
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except ValueError as e:  # json.JSONDecodeError and yaml.YAMLError are ValueErrors
        raise ConfigError(
            f"{p}: not valid {p.suffix.lstrip('.') or 'YAML'}: {e}".splitlines()[0]
        ) from None
    return check_attributes(data, str(p))


def check_attributes(data: object, where: str) -> Attributes:
    if not isinstance(data, Mapping) or not data:
        raise ConfigError(f"{where}: attributes must be a mapping of names to lists of values")
    out: Attributes = {}
    for name, values in data.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}: attribute {name!r} must be a non-empty list")
        if any(isinstance(v, (dict, list)) or v is None for v in values):
            raise ConfigError(f"{where}: attribute {name!r} must list plain values")
        if len(set(map(str, values))) != len(values):
            raise ConfigError(f"{where}: attribute {name!r} lists a value twice")
        out[str(name)] = list(values)
    return out


def combinations(attributes: Attributes, seed: str) -> list[dict[str, Any]]:
    """All combinations, in a seeded order (so coverage does not follow file order)."""
    names = list(attributes)
    combos = [
        dict(zip(names, values, strict=True)) for values in itertools.product(*attributes.values())
    ]
    random.Random(seed).shuffle(combos)
    return combos
