from collections import Counter

import pytest

from synthgen.data.example import Example
from synthgen.errors import ConfigError
from synthgen.prompts.plan import Planner, quotas


def seeds(n, cats=None):
    return [
        Example.from_pairs(
            [("user", f"q{i}"), ("assistant", f"a{i}")],
            metadata={"category": cats[i % len(cats)]} if cats else {},
        )
        for i in range(n)
    ]


def test_rotation_uses_every_seed_equally():
    p = Planner(seeds(7), shots=3, seed=1)
    used = Counter(i for o in range(70) for i in p.plan(o).shots)
    assert set(used) == set(range(7)) and max(used.values()) - min(used.values()) <= 1
    assert all(len(set(p.plan(o).shots)) == 3 for o in range(70))


def test_deterministic_and_seed_dependent():
    a = [Planner(seeds(10), shots=4, seed=3).plan(o) for o in range(20)]
    b = [Planner(seeds(10), shots=4, seed=3).plan(o) for o in range(20)]
    c = [Planner(seeds(10), shots=4, seed=4).plan(o) for o in range(20)]
    assert a == b and a != c


def test_fewer_seeds_than_shots():
    p = Planner(seeds(2), shots=5, seed=0)
    assert sorted(p.plan(0).shots) == [0, 1]


def test_categories_round_robin_and_shots_within_category():
    data = seeds(12, cats=["b", "a", "c"])
    p = Planner(data, shots=2, seed=0, balance_by="category")
    assert p.categories == ["a", "b", "c"]
    for o in range(30):
        plan = p.plan(o)
        assert plan.category == ["a", "b", "c"][o % 3]
        assert all(data[i].metadata["category"] == plan.category for i in plan.shots)


def test_missing_balance_field():
    data = seeds(3) + seeds(1, cats=["x"])
    with pytest.raises(ConfigError, match="category"):
        Planner(data, shots=2, seed=0, balance_by="category")


def test_quotas_equal_and_exact():
    q = quotas(["a", "b", "c"], 10)
    assert q == {"a": 4, "b": 3, "c": 3} and sum(q.values()) == 10
    assert quotas([None], 7) == {None: 7}
