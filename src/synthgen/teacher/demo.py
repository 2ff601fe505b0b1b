"""The bundled teacher of ``--model demo``: deterministic placeholder conversations, answered
in process, so the whole pipeline runs offline with no key and no server. FakeTeacher
(``synthgen.testing``) serves the same replies over HTTP: for the same requests in the same
order, the two give the same text and the same token counts."""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
from collections.abc import Sequence
from typing import Any

from synthgen.teacher.base import ChatRequest, Completion
from synthgen.teacher.demo_tools import tool_conversation, tools_in
from synthgen.teacher.inprocess import InProcessTeacher

__all__ = [
    "DemoGenerator",
    "asks_reasoning",
    "demo_reply",
    "demo_teacher",
    "demo_trace",
    "demo_verdict",
    "is_judge_request",
    "is_sampling_request",
    "prompt_tokens",
    "rough_tokens",
]

MAX_PER_REPLY = 1_000
_EXACTLY = re.compile(r"exactly (\d+)")

_WORDS = """
able about above accept across act add afraid after again age agree air all allow almost
alone along already always amount angle animal answer apple area arm army art ask attack
autumn away baby back bad bag ball band bank base basket bath bear beauty bed bee before
begin bell best better bird birth bit bitter black blade blood blue board boat body bone
book boot bottle box boy brain brake branch brass bread breath brick bridge bright broken
brother brown brush bucket build burn butter button cake camera card care carpet cart cat
cause chain chalk chance change cheap cheese chest chief child chin church circle clean
clear clock cloth cloud coat cold collar colour comb come comfort common copper copy cord
cork cotton cough country cover cow crack credit crime cruel crush cry cup current curtain
curve cushion damage danger dark daughter day dead dear debt decision deep degree design
desire detail develop different digestion direction dirty discovery disease dog door doubt
drain drawer dream dress drink drop dry dust early earth east edge effect egg elastic
electric end engine enough equal error even event example expert eye face fact fall false
family farm father fear feather feeble feeling field fight finger fire first fish flag
flame flat flight floor flower fly fold food foolish foot force fork form forward frame
free friend front fruit full future garden general girl glass glove goat gold good grain
grass great green grey grip group growth guide gun hair hammer hand happy harbour harmony
hat hate head healthy hearing heart heat help high history hole hollow hook hope horn
horse hospital hour house humour ice idea ill important impulse increase industry ink
insect iron island jelly jewel join journey judge jump keep kettle key kick kind kiss knee
knife knot language last late laugh lead leaf learning leather left leg letter level
library lift light limit line linen lip liquid list little living lock long loose loss
loud love low machine make male manager map mark market mass meal measure meat medical
meeting memory metal middle milk mind mine minute mist mixed money monkey month moon
morning mother motion mountain mouth move muscle music nail narrow nation natural near
neck needle nerve net new news night noise normal north nose note number nut office oil
old open opinion orange order oven owner page pain paint paper parallel parcel part paste
peace pen pencil person picture pig pin pipe place plane plant plate play pleasure plough
pocket point poison polish porter pot potato powder power price print prison private
process profit property prose protest public pull pump punishment purpose push quality
question quick quiet quite rail rain range rat rate ray reaction reading ready reason
receipt record regret regular relation religion request respect rest reward rhythm rice
right ring river road rod roll roof room root rough round rub rule run sad safe sail salt
sand scale school science scissors screw sea seat second secret seed self sense serious
servant shade shake shame sharp sheep shelf ship shirt shock shoe short silver simple
sister size skin skirt sky sleep slip slope slow small smash smell smile smoke smooth
snake sneeze snow soap society sock soft solid song sort sound soup south space spade
special sponge spoon spring square stage stamp star start statement station steam steel
stem step stick sticky stiff still stitch stomach stone stop store story straight strange
street stretch strong structure sugar summer sun support surprise sweet swim system table
tail talk tall taste tax teaching tendency test theory thick thin thing thought thread
throat thumb thunder ticket tight tired toe tongue tooth top touch town trade train
transport tray tree trick trouble trousers true turn twist umbrella unit use value verse
vessel view violent voice waiting walk wall war warm wash waste watch water wave wax way
weather week weight well west wet wheel whip whistle white wide wind window wine wing
winter wire wise woman wood wool word work worm wound writing year yellow young
"""
_VOCABULARY = _WORDS.split()


def rough_tokens(text: str) -> int:
    """Rough token count (four characters per token), as good as placeholder data needs."""
    return len(text) // 4 + 1


def text_of(content: Any) -> str:
    """The text of a message's content, which may be a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def prompt_tokens(messages: Sequence[Any]) -> int:
    """The usage a request's messages are billed as."""
    return sum(rough_tokens(text_of(m.get("content"))) for m in messages if isinstance(m, dict))


def per_reply_from(messages: Sequence[Any], default: int = 3) -> int:
    """How many conversations the request asks for: "exactly N" in the last user message."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            found = _EXACTLY.search(text_of(message.get("content")))
            return min(int(found.group(1)), MAX_PER_REPLY) if found else default
    return default


def demo_reply(
    messages: Sequence[Any], *, seed: int = 0, ordinal: int = 0, per_reply: int | None = None
) -> dict[str, Any]:
    """Placeholder conversations for a request: same inputs, same reply; else new text.

    ``ordinal`` counts earlier requests with the same messages, so repeating a prompt gives
    fresh text while every run of the same prompts gives the same texts.
    """
    canonical = json.dumps(list(messages), sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.sha256(f"{seed}\0{ordinal}\0{canonical}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:16], "big"))
    count = per_reply_from(messages) if per_reply is None else per_reply

    def sentence(end: str) -> str:
        words = rng.choices(_VOCABULARY, k=rng.randint(8, 25))
        return "[demo] " + " ".join(words).capitalize() + end

    tools = tools_in(messages)  # a request listing tools gets conversations that call them
    conversations: list[dict[str, Any]] = [
        tool_conversation(tools, rng, sentence, _VOCABULARY)
        if tools
        else {
            "messages": [
                {"role": "user", "content": sentence("?")},
                {"role": "assistant", "content": sentence(".")},
            ]
        }
        for _ in range(count)
    ]
    if asks_reasoning(messages):
        # --reasoning keep asks for each message's reasoning (prompts.reasoning).
        for conv in conversations:
            for m in conv["messages"]:
                m["reasoning"] = sentence(".") if m["role"] == "assistant" else ""
    return {"conversations": conversations}


def asks_reasoning(messages: Sequence[Any]) -> bool:
    """Whether the request asks for a "reasoning" field on each message."""
    last = messages[-1] if messages else None
    return isinstance(last, dict) and '"reasoning" field' in text_of(last.get("content"))


def demo_trace(text: str) -> str:
    """A reasoning trace for a reply ``text``: placeholder words, the same for the same text."""
    rng = random.Random(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest())
    return "[demo] Thinking: " + " ".join(rng.choices(_VOCABULARY, k=rng.randint(12, 30))) + "."


class DemoGenerator:
    """:func:`demo_reply` for a stream of requests: a prompt seen before gets new text, its
    ordinal being the number of identical prompts before it. Thread-safe (FakeTeacher calls
    it from its server thread)."""

    def __init__(self, *, seed: int = 0, per_reply: int | None = None) -> None:
        self.seed = seed
        self.per_reply = per_reply
        self._ordinals: dict[bytes, int] = {}
        self._lock = threading.Lock()

    def reply(self, messages: Sequence[Any]) -> dict[str, Any]:
        canonical = json.dumps(list(messages), sort_keys=True, ensure_ascii=False, default=str)
        key = hashlib.sha256(canonical.encode()).digest()
        with self._lock:
            ordinal = self._ordinals.get(key, 0)
            self._ordinals[key] = ordinal + 1
        return demo_reply(messages, seed=self.seed, ordinal=ordinal, per_reply=self.per_reply)

    def answer(self, messages: Sequence[Any]) -> str:
        """A plain assistant reply to a conversation (a request that names ``n``: see
        :func:`is_sampling_request`); a prompt seen before gets another one."""
        canonical = json.dumps(list(messages), sort_keys=True, ensure_ascii=False, default=str)
        key = hashlib.sha256(f"answer\0{canonical}".encode()).digest()
        with self._lock:
            ordinal = self._ordinals.get(key, 0)
            self._ordinals[key] = ordinal + 1
        digest = hashlib.sha256(f"{self.seed}\0{ordinal}\0answer\0{canonical}".encode()).digest()
        rng = random.Random(int.from_bytes(digest[:16], "big"))
        words = rng.choices(_VOCABULARY, k=rng.randint(8, 40))
        return "[demo] " + " ".join(words).capitalize() + "."


def is_sampling_request(request: ChatRequest) -> bool:
    """Whether ``request`` asks for the assistant's next turn itself (preference pairs send
    the conversation with ``n``), not for conversations in JSON."""
    return "n" in request.extra and request.response_format is None


def demo_verdict(messages: Sequence[Any], *, seed: int = 0) -> dict[str, Any]:
    """A judge's verdict on the conversation a judge request shows: a score from 1 to 10,
    the same for the same request, spread evenly, so ``--judge demo`` drops some."""
    canonical = json.dumps(list(messages), sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.sha256(f"{seed}\0verdict\0{canonical}".encode()).digest()
    score = 1 + digest[0] % 10
    return {"score": score, "reason": f"[demo] a placeholder verdict: {score}/10"}


def is_judge_request(request: ChatRequest) -> bool:
    """Whether ``request`` asks for a judge's verdict (prompts.judge's response format)."""
    fmt = request.response_format or {}
    spec = fmt.get("json_schema") if isinstance(fmt, dict) else None
    return isinstance(spec, dict) and spec.get("name") == "verdict"


def demo_teacher(seed: int = 0) -> InProcessTeacher:
    """The teacher of ``--model demo``. Its endpoint is "demo", so cache keys do not depend on
    where it runs. As a judge (``--judge demo``) it answers with a score."""
    generator = DemoGenerator(seed=seed)

    def respond(request: ChatRequest) -> Completion:
        if is_judge_request(request):
            reply = demo_verdict(request.messages, seed=seed)
        elif is_sampling_request(request):
            text = generator.answer(request.messages)
            return Completion(
                text=text,
                finish_reason="stop",
                prompt_tokens=prompt_tokens(request.messages),
                completion_tokens=rough_tokens(text),
            )
        else:
            reply = generator.reply(request.messages)
        content = json.dumps(reply, ensure_ascii=False)
        return Completion(
            text=content,
            finish_reason="stop",
            prompt_tokens=prompt_tokens(request.messages),
            completion_tokens=rough_tokens(content),
        )

    return InProcessTeacher(respond, model="demo", endpoint="demo")
