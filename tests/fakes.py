"""Reply scripts for FakeTeacher that exercise every filter (shared by the e2e tests)."""

from __future__ import annotations

import json
import random
import re
import threading
from typing import Any

from synthgen.testing import Reply

WORDS = [
    "river",
    "mountain",
    "quiet",
    "lantern",
    "copper",
    "window",
    "garden",
    "silver",
    "thunder",
    "meadow",
    "harbor",
    "pencil",
    "orange",
    "velvet",
    "marble",
    "canyon",
    "whisper",
    "journey",
    "blanket",
    "compass",
    "dragon",
    "forest",
    "glacier",
    "honey",
    "island",
    "jacket",
    "kettle",
    "ladder",
    "magnet",
    "needle",
    "ocean",
    "puzzle",
    "quartz",
    "ribbon",
    "saddle",
    "tunnel",
    "umbrella",
    "valley",
    "wagon",
    "yellow",
    "zebra",
    "anchor",
    "bridge",
    "candle",
    "desert",
    "engine",
    "feather",
    "galaxy",
    "hammer",
    "insect",
    "jungle",
    "kitchen",
    "lemon",
    "mirror",
    "nickel",
    "orchid",
    "parrot",
    "rocket",
    "spider",
    "tomato",
    "violin",
    "walnut",
    "yogurt",
    "acorn",
    "bottle",
    "cactus",
    "dolphin",
    "eagle",
    "falcon",
    "goblin",
    "helmet",
    "igloo",
]


def sentence(rng: random.Random, k: int = 14) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(k)).capitalize() + "."


def conv(user: str, assistant: str) -> dict[str, Any]:
    return {
        "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    }


def fresh(rng: random.Random) -> dict[str, Any]:
    return conv(sentence(rng, 12), sentence(rng, 30))


def near_copy(c: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The same conversation with one word of the answer changed (Jaccard ≈ 0.9)."""
    words = c["messages"][1]["content"].rstrip(".").split()
    words[len(words) // 2] = rng.choice(WORDS) + "x"
    return conv(c["messages"][0]["content"], " ".join(words) + ".")


_CATEGORY = re.compile(r'category "([^"]+)"')


class TrickyTeacher:
    """Every kind of bad reply, on a fixed rotation, plus skewed yields per category:
    'billing' requests get 8 conversations, 'technical' only 2."""

    def __init__(self, seed_conversation: dict[str, Any] | None = None) -> None:
        self.served: list[dict[str, Any]] = []
        self.seed_conversation = seed_conversation
        self.lock = threading.Lock()

    def __call__(self, body: dict[str, Any], index: int) -> Any:
        rng = random.Random(index)
        prompt = body["messages"][-1]["content"]
        found = _CATEGORY.search(prompt)
        category = found.group(1) if found else None
        per = {"billing": 8, "technical": 2}.get(category or "", 5)
        convs = [fresh(rng) for _ in range(per)]
        kind = index % 8
        with self.lock:
            if kind == 0:
                return "```json\n" + json.dumps({"conversations": convs}) + "\n```"
            if kind == 1:
                text = json.dumps({"conversations": convs})
                return Reply(text[: len(text) // 2], finish_reason="length")
            if kind == 2:
                convs[0]["messages"][1]["content"] = ""
            if kind == 3:
                convs[0]["messages"][1]["content"] = "As an AI language model, I cannot do that."
            if kind == 4 and self.served:
                convs[0] = json.loads(json.dumps(self.served[-1]))  # exact duplicate
                convs[-1] = near_copy(self.served[0], rng)
            if kind in (0, 5):
                self.served.extend(json.loads(json.dumps(c)) for c in convs)
            if kind == 5:
                return "Sure! Here are the conversations: " + json.dumps({"conversations": convs})
            if kind == 6 and self.seed_conversation is not None:
                convs[0] = self.seed_conversation
            if kind == 7:
                convs[0]["messages"].append({"role": "user", "content": "dangling"})
        return {"conversations": convs}
