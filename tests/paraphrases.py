"""A teacher that writes paraphrases (for --semantic-dedup): each reply holds a question and
its answer, then the same pair reworded so that MinHash sees little in common."""

from __future__ import annotations

from typing import Any

from tests.fakes import conv

# (question, answer, question reworded, answer reworded): unrelated topics, so that no two
# bases are semantic neighbours of each other.
PAIRS = [
    (
        "What's the capital of France?",
        "The capital of France is Paris.",
        "Which city is France's capital?",
        "Paris is France's capital city.",
    ),
    (
        "How do I reset my password?",
        "Click 'Forgot password' on the sign-in page and follow the emailed link.",
        "I forgot my password, how can I change it?",
        "On the login screen choose Forgot password, then use the link we email you.",
    ),
    (
        "How long should I boil an egg for a soft yolk?",
        "Boil it for about six minutes, then cool it in cold water.",
        "For a runny yolk, how many minutes does an egg need in boiling water?",
        "Around 6 minutes in boiling water, followed by an ice bath.",
    ),
    (
        "Why is the sky blue?",
        "Air molecules scatter short blue wavelengths of sunlight more than red ones.",
        "What makes the sky look blue?",
        "Sunlight's blue light is scattered more strongly by the atmosphere than red light.",
    ),
    (
        "Can I cancel my subscription at any time?",
        "Yes, you can cancel whenever you like from the billing settings.",
        "Is it possible to end my plan whenever I want?",
        "Sure, the plan can be stopped at any moment in your billing settings.",
    ),
    (
        "How many legs does a spider have?",
        "Spiders have eight legs.",
        "What is the number of legs on a spider?",
        "A spider has 8 legs.",
    ),
]


class ParaphraseTeacher:
    """Reply ``i`` holds base ``i`` and the paraphrase of base ``i - 1`` (rotating through
    PAIRS): each paraphrase comes a reply after its original, so a resumed run meets
    paraphrases of what it accepted before the stop."""

    def __call__(self, body: dict[str, Any], index: int) -> Any:
        q, a, _, _ = PAIRS[index % len(PAIRS)]
        _, _, q2, a2 = PAIRS[(index - 1) % len(PAIRS)]
        return {"conversations": [conv(q, a), conv(q2, a2)]}
