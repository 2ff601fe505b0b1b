"""Non-default values for the settings a job's identity and the card's reproduce command are
made of, and that job's fingerprint: for tests of Settings and of the CLI that parses it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthgen.data.seeds import load_seeds
from synthgen.prompts.attributes import load_attributes
from synthgen.prompts.templates import load_mix
from synthgen.run.job import job_identity
from synthgen.run.journal import fingerprint
from synthgen.settings import Settings
from tests.helpers import SAMPLES

SEEDS = SAMPLES / "seeds.txt"


def changed_values(tmp: Path) -> dict[str, Any]:
    """One value other than the default for every setting the card reproduces."""
    attributes = tmp / "attrs.yaml"
    attributes.write_text("persona: [a student, a nurse]\n", encoding="utf-8")
    held_out = tmp / "held_out.jsonl"
    held_out.write_text(
        '{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}\n',
        encoding="utf-8",
    )
    return {
        "n": 7,
        "out_dir": tmp / "elsewhere",
        "model": "teacher-model",
        "base_url": "http://127.0.0.1:9/v1",
        "template": "persona:2,expand:1",
        "system": "Be brief; answer in 'one' line.",
        "eval_fraction": 0.25,
        "seed": 3,
        "balance_by": "category",
        "dedup_threshold": 0.7,
        "temperature": 0.5,
        "per_request": 2,
        "shots": 4,
        "attributes": attributes,
        "frontier": 0.25,
        "language": "pl",
        "decontaminate": held_out,
        "decontaminate_ngram": 8,
        "judge": "demo",
        "min_score": 7,
        "format": "sharegpt",
        "max_tokens": 512,
        "license": "cc-by-4.0",
        "shard": "1/4",
        "reasoning": "keep",
    }


# Reproduced by the card's command, but not part of the job's identity: a job whose replies
# were cut resumes with a higher limit; a license changes the card, not the data.
REPRODUCED_NOT_IDENTITY = ("max_tokens", "license")


def job_fingerprint(settings: Settings) -> str:
    """The fingerprint ``prepare`` gives this job over samples/seeds.txt."""
    seeds = load_seeds(SEEDS, system=settings.system)
    mix = load_mix(settings.template)
    attributes = load_attributes(settings.attributes) if settings.attributes else {}
    return fingerprint(job_identity(settings, seeds, mix, attributes))
