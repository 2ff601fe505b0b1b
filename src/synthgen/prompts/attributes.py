"""Attribute lists for conditioned generation (``--attributes attrs.yaml``), e.g.::

    persona: [a student, a retired nurse, a small-business owner]
    difficulty: [beginner, expert]
    topic: [billing, privacy]

Every combination is one request condition; requests walk through a seeded shuffle of all
combinations, so each appears once before any repeats. The combinations are never listed:
25 attributes of 10 values (a 915-byte file) make 10**25 of them, so the i-th one is
computed from i (:class:`Combinations`), and a run that cannot cover them all samples them.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from synthgen.errors import ConfigError, SeedError

Attributes = dict[str, list[Any]]

MAX_ATTRIBUTES_BYTES = 1024 * 1024
# Up to this many combinations the order is a shuffled list, as in earlier versions (so the
# prompts of their jobs, and their cached replies, stay the same); beyond, a permutation
# computed per index.
SHUFFLE_MAX = 100_000


def load_attributes(path: str | Path) -> Attributes:
    from synthgen.data.seed_readers import open_regular

    p = Path(path)
    with open_regular(
        p, what="an attributes file", error=ConfigError, max_bytes=MAX_ATTRIBUTES_BYTES
    ) as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{p}: not UTF-8 text (byte {e.start + 1})") from None
    json_file = p.suffix.lower() == ".json"
    try:
        data = json.loads(text) if json_file else _load_yaml(text, p)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{p}:{e.lineno}: not valid JSON: {e.msg} (column {e.colno})") from None
    except RecursionError:
        raise ConfigError(f"{p}: not valid attributes: nested too deeply to read") from None
    return check_attributes(data, str(p))


def _load_yaml(text: str, path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:  # not a ValueError: it used to escape as "unexpected"
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        what = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{where}: not valid YAML: {what}") from None


def check_attributes(data: object, where: str) -> Attributes:
    if not isinstance(data, Mapping) or not data:
        raise ConfigError(f"{where}: attributes must be a mapping of names to lists of values")
    from synthgen.data.seed_records import check_json

    try:
        check_json(data, where)  # a lone surrogate could not be sent or written
    except SeedError as e:
        raise ConfigError(str(e)) from None
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


class Combinations:
    """The combinations of ``attributes`` in a seeded order, one at a time: ``at(i)`` for the
    i-th request (i counts on past ``total``, when the same order starts again).

    The order is a seeded permutation of the combination numbers, each number read as a
    mixed-radix number (the last attribute the fastest digit, as ``itertools.product``), so
    every combination comes once before any repeats. No attributes: one empty combination.
    """

    def __init__(self, attributes: Attributes, seed: str) -> None:
        self.names = list(attributes)
        self._values = [list(v) for v in attributes.values()]
        self.total = math.prod(len(v) for v in self._values)
        self._order: list[int] | None = None
        self._permute: _Permutation | None = None
        if self.total <= SHUFFLE_MAX:
            # random.shuffle swaps by position only: the same order as shuffling the list of
            # combinations themselves, which is what earlier versions did.
            self._order = list(range(self.total))
            random.Random(seed).shuffle(self._order)
        else:
            self._permute = _Permutation(self.total, seed)

    def at(self, i: int) -> dict[str, Any]:
        i %= self.total
        number = self._order[i] if self._order is not None else self._permuted(i)
        picked: list[Any] = []
        for values in reversed(self._values):
            number, digit = divmod(number, len(values))
            picked.append(values[digit])
        return dict(zip(self.names, reversed(picked), strict=True))

    def _permuted(self, i: int) -> int:
        assert self._permute is not None
        return self._permute(i)

    def coverage_note(self, label: str, requests: int | None = None) -> str | None:
        """One line to show the user when a run of ``requests`` requests (None: any run, so
        only when there are more than ``SHUFFLE_MAX``) cannot use every combination."""
        if self.total <= (SHUFFLE_MAX if requests is None else requests):
            return None
        runs = "a run's requests" if requests is None else f"at most {requests:,} requests"
        return (
            f"{label}: {len(self.names)} attributes make {self.total:,} combinations; {runs} "
            "each get a different one, in a seeded random order: a sample of them, not all"
        )


class _Permutation:
    """A seeded pseudo-random permutation of ``range(n)``, any ``n >= 1``, one value at a time:
    a balanced 4-round Feistel network over the smallest even number of bits that covers
    ``n``, with cycle walking (a value >= n is permuted again; fewer than 4 rounds of that
    are expected, as the bit range is less than 4n)."""

    def __init__(self, n: int, seed: str) -> None:
        self.n = n
        bits = max(2, (n - 1).bit_length())
        self.half = (bits + 1) // 2
        self.mask = (1 << self.half) - 1
        self.width = (self.half + 7) // 8
        self.key = hashlib.sha256(f"attributes:{seed}".encode()).digest()

    def _round(self, r: int, x: int) -> int:
        data = self.key + bytes([r]) + x.to_bytes(self.width, "big")
        return int.from_bytes(hashlib.shake_128(data).digest(self.width), "big") & self.mask

    def __call__(self, i: int) -> int:
        x = i
        while True:
            left, right = x >> self.half, x & self.mask
            for r in range(4):
                left, right = right, left ^ self._round(r, right)
            x = (left << self.half) | right
            if x < self.n:
                return x
