"""Write benchmarks/data/paraphrases.jsonl: the labelled set of bench_semantic.py.

    python benchmarks/make_paraphrases.py

200 pairs of paraphrases (label 1): one question asked two ways, for 20 countries x 5 and
20 apps x 5. 200 hard non-paraphrases (label 0), 100 of each kind: the same wording about
another country or app ("capital of France" / "capital of Spain"), and another question
about the same one ("capital of France" / "currency of France"). Each line:
{"a": ..., "b": ..., "label": 0|1, "kind": "paraphrase" | "other_entity" | "other_question"}.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent / "data" / "paraphrases.jsonl"

COUNTRIES = [
    "France",
    "Germany",
    "Spain",
    "Italy",
    "Portugal",
    "Japan",
    "Brazil",
    "Canada",
    "Mexico",
    "Egypt",
    "Kenya",
    "India",
    "Vietnam",
    "Norway",
    "Poland",
    "Greece",
    "Turkey",
    "Chile",
    "Peru",
    "Australia",
]
APPS = [
    "Lumen Notes",
    "PixelVault",
    "TaskHive",
    "SoundNest",
    "BudgetBee",
    "MapMate",
    "ChatterBox",
    "FitPulse",
    "DocuDrop",
    "RecipeRally",
    "CodePad",
    "PhotoFrame",
    "MailMint",
    "TripTide",
    "ReadRiver",
    "HomeHub",
    "StudyStack",
    "PetPal",
    "GardenGrid",
    "SleepWell",
]

COUNTRY_QUESTIONS = [
    ("What's the capital of {x}?", "Which city is the capital of {x}?"),
    ("How many people live in {x}?", "What is the population of {x}?"),
    ("What currency is used in {x}?", "What money do people pay with in {x}?"),
    ("What language do people speak in {x}?", "Which language is spoken in {x}?"),
    ("When is the best time of year to visit {x}?", "What season should I travel to {x}?"),
]
APP_QUESTIONS = [
    ("How do I reset my password in {x}?", "I forgot my {x} password, how do I change it?"),
    (
        "How can I export my data from {x}?",
        "Is there a way to download everything I stored in {x}?",
    ),
    ("Why does {x} keep crashing on startup?", "{x} closes right after I open it, what's wrong?"),
    (
        "How do I cancel my {x} subscription?",
        "I want to stop paying for {x}, how do I end the plan?",
    ),
    ("Can I use {x} offline?", "Does {x} work without an internet connection?"),
]


def rows() -> list[dict[str, object]]:
    rng = random.Random(14)
    out: list[dict[str, object]] = []
    for names, questions in ((COUNTRIES, COUNTRY_QUESTIONS), (APPS, APP_QUESTIONS)):
        for x in names:
            for first, second in questions:
                a, b = first.format(x=x), second.format(x=x)
                out.append({"a": a, "b": b, "label": 1, "kind": "paraphrase"})
        for _ in range(50):
            x, y = rng.sample(names, 2)
            first, second = rng.choice(questions)
            wording = rng.choice((first, second))
            a, b = wording.format(x=x), wording.format(x=y)
            out.append({"a": a, "b": b, "label": 0, "kind": "other_entity"})
        for _ in range(50):
            x = rng.choice(names)
            (q1, r1), (q2, r2) = rng.sample(questions, 2)
            a, b = rng.choice((q1, r1)).format(x=x), rng.choice((q2, r2)).format(x=x)
            out.append({"a": a, "b": b, "label": 0, "kind": "other_question"})
    return out


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r, ensure_ascii=False) for r in rows()]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(lines)} pairs)")


if __name__ == "__main__":
    main()
