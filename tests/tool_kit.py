"""Tool-calling conversations for tests: two tools (weather, booking), seeds and teacher
replies built from them, good and broken in each way the filters know."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather forecast for a city on a day.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "date": {"type": "string", "format": "date"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "date"],
            "additionalProperties": False,
        },
    },
}
BOOKING = {
    "type": "function",
    "function": {
        "name": "book_table",
        "description": "Book a restaurant table.",
        "parameters": {
            "type": "object",
            "properties": {
                "restaurant": {"type": "string"},
                "party_size": {"type": "integer", "minimum": 1, "maximum": 12},
            },
            "required": ["restaurant", "party_size"],
        },
    },
}
TOOLS = [WEATHER, BOOKING]

_WORDS = [
    "harbour",
    "lantern",
    "copper",
    "meadow",
    "violet",
    "quarry",
    "saddle",
    "thistle",
    "ember",
    "glacier",
    "orchard",
    "pebble",
    "falcon",
    "tundra",
    "marble",
    "canyon",
    "willow",
    "beacon",
    "cobalt",
    "juniper",
    "summit",
    "lagoon",
    "prairie",
    "citadel",
    "mosaic",
    "walnut",
    "comet",
    "delta",
    "fjord",
    "granite",
    "hazel",
    "island",
    "jasmine",
    "kestrel",
    "lotus",
    "maple",
    "nectar",
]


def words(seed: object, k: int = 12) -> str:
    """A sentence of ``k`` words that differs from every other seed's."""
    rng = random.Random(str(seed))
    return " ".join(rng.choice(_WORDS) for _ in range(k)).capitalize()


def call(call_id: str, name: str, **arguments: Any) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def answer(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


def calls(*made: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": None, "tool_calls": list(made)}


def result(call_id: str, content: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def weather_chat(seed: object, city: str = "Lisbon") -> list[dict[str, Any]]:
    """A good conversation: a question, a weather call, its result, the answer."""
    return [
        user(f"{words(seed)} in {city}?"),
        calls(call("c1", "get_weather", city=city, date="2025-06-14")),
        result("c1", json.dumps({"summary": words((seed, "r"), 5)})),
        answer(words((seed, "a"), 14) + "."),
    ]


def broken_chats(seed: object) -> dict[str, list[dict[str, Any]]]:
    """One conversation per drop reason, by the reason it should be dropped for."""
    good = weather_chat(seed)
    return {
        "unknown_tool": [
            good[0],
            calls(call("c1", "get_time", city="Lisbon")),
            result("c1", "12:00"),
            good[3],
        ],
        "invalid_arguments": [
            good[0],
            calls(call("c1", "get_weather", town="Lisbon")),
            result("c1", "sunny"),
            good[3],
        ],
        "orphan_tool_message": [good[0], result("c9", "sunny"), good[3]],
        "missing_final_answer": good[:3],
        "unanswered_tool_call": [good[0], good[1], good[3]],
    }


def seed_line(messages: list[dict[str, Any]], tools: list[dict[str, Any]], **extra: Any) -> str:
    return json.dumps({"messages": messages, "tools": tools, **extra})


def write_seeds(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
