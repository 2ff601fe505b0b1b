"""From one teacher reply to accepted examples and counted drops: parse, schema and quality
filters, dedup against the seeds and everything accepted so far, per-category quotas.

Replies are curated strictly in request order, so the accepted set is a function of the
replies alone, not of which one happened to arrive first: a re-run from the cache gives
byte-identical output.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from synthgen.curate.drop import Drop, judge_drop
from synthgen.curate.filters import PromptGuard, QualityFilter, to_example
from synthgen.curate.reasoning import ReasoningCheck
from synthgen.data.example import Example
from synthgen.data.tools import Toolbox
from synthgen.prompts.reply import ParseError, parse_reply
from synthgen.text.think import split_think

if TYPE_CHECKING:
    from synthgen.prompts.plan import RequestPlan
    from synthgen.teacher import ChatRequest, Completion
    from synthgen.text.index import Index
    from synthgen.text.semantic import SemanticIndex


RESTORE_BATCH = 500


@dataclass
class Outcome:
    accepted: list[Example] = field(default_factory=list)
    drops: list[dict[str, Any]] = field(default_factory=list)  # rejected.jsonl rows
    candidates: int = 0
    # Good candidates for a category that filled up while their request was in flight: not
    # rejections (and not in rejected.jsonl, whose content must not depend on timing).
    surplus: int = 0


class Curator:
    def __init__(
        self,
        *,
        system: str | None,
        quality: QualityFilter,
        index: Index,
        quotas: Mapping[str | None, int],
        balance_by: str | None,
        seeds: Sequence[Example] = (),
        checks: Sequence[Callable[[Example], Drop | None]] = (),
        min_score: int = 0,
        asked: Callable[[RequestPlan], int] | None = None,
        keep_reasoning: bool = False,
        semantic: SemanticIndex | None = None,
    ) -> None:
        self.min_score = min_score
        self.reasoning = ReasoningCheck(keep=keep_reasoning)
        # How many conversations a request asked for: a reply's conversations past that are
        # not read, and counted in one over_asked row (one reply of 1,000 once supplied a
        # whole run).
        self.asked = asked
        self.system = system
        self.quality = quality
        self.checks = list(checks)  # language, decontamination, ...
        self.index = index
        self.quotas = dict(quotas)
        self.filled: dict[str | None, int] = dict.fromkeys(quotas, 0)
        self.balance_by = balance_by
        self.accepted: list[Example] = []
        # What restore() re-admits, added to the index in batches (one round trip each with
        # an index in Redis) before the index is next asked anything.
        self._restored: list[tuple[str, str, str]] = []
        # Paraphrases (--semantic-dedup), checked after the MinHash index has found nothing.
        self.semantic = semantic
        seeded = [(f"seed:{i}", seed.dedup_text(), "seed") for i, seed in enumerate(seeds)]
        index.add_many(seeded)
        if semantic is not None:
            semantic.add_many(seeded)
        self.toolbox = Toolbox(seeds)  # the tools each candidate may call: its seeds'

    def full(self, category: str | None) -> bool:
        return self.filled[category] >= self.quotas[category]

    @property
    def done(self) -> bool:
        self._flush_restored()  # the first thing a run asks after restoring
        return all(self.full(c) for c in self.quotas)

    def curate(
        self,
        plan: RequestPlan,
        completion: Completion,
        request: ChatRequest | None = None,
        scores: Mapping[int, tuple[int | None, str]] | None = None,
    ) -> Outcome:
        """Curate one reply. ``scores`` are the judge's verdicts by conversation index, for
        the candidates :meth:`worth_judging` picked (None: no judge)."""
        self._flush_restored()
        out = Outcome()
        if completion.finish_reason == "length":
            # A reply cut off by max_tokens: its last conversation is incomplete and
            # the JSON usually broken, so none of it is trusted.
            out.drops.append(_row(plan, Drop("truncated", "finish_reason=length"), completion.text))
            return out
        if split_think(completion.text).cut:
            # The trace never ended: no answer follows it.
            why = Drop("reasoning_cut", "the reply's <think> block is never closed")
            out.drops.append(_row(plan, why, completion.text))
            return out
        try:
            conversations = parse_reply(completion.text)
        except ParseError as e:
            out.drops.append(_row(plan, Drop("unparseable", str(e)), completion.text))
            return out
        guard = None
        if request is not None:
            guard = PromptGuard(request.messages[-1]["content"], request.shown)
        limit = self._limit(plan, len(conversations))
        trace = self._trace(plan, completion, len(conversations))
        if limit < len(conversations):
            extra = len(conversations) - limit
            out.candidates += extra
            out.drops.append(
                {
                    "request": plan.ordinal,
                    "reason": "over_asked",
                    "detail": f"{extra} conversations past the {limit} asked for, not read",
                    "count": extra,
                }
            )
        kept = conversations[:limit]
        screened = [self._screen(raw, self._meta(plan, j), trace) for j, raw in enumerate(kept)]
        self._embed(plan, screened)
        for j, (raw, built) in enumerate(zip(kept, screened, strict=True)):
            out.candidates += 1
            verdict = self._verdict(plan, built, self._meta(plan, j), guard, scores)
            if isinstance(verdict, Drop) and verdict.reason == "over_quota":
                out.surplus += 1
            elif isinstance(verdict, Drop):
                out.drops.append(_row(plan, verdict, raw))
            else:
                out.accepted.append(verdict)
        return out

    def _embed(self, plan: RequestPlan, screened: Sequence[Example | Drop]) -> None:
        """Embed a reply's candidates in one batch (5x the throughput of one at a time on
        2 cores), for the semantic checks that follow one by one."""
        if self.semantic is not None and not self.full(plan.category):
            self.semantic.embed([b.dedup_text() for b in screened if isinstance(b, Example)])

    def _limit(self, plan: RequestPlan, got: int) -> int:
        return got if self.asked is None else min(got, self.asked(plan))

    def _trace(self, plan: RequestPlan, completion: Completion, got: int) -> str | None:
        """The teacher's trace when it is the reasoning of the reply's one conversation
        (curate.reasoning), else None."""
        if not self.reasoning.keep:
            return None
        one = (self.asked(plan) if self.asked is not None else got) == 1
        return completion.reasoning if one else None

    def _meta(self, plan: RequestPlan, j: int) -> dict[str, Any]:
        meta: dict[str, Any] = {"request": plan.ordinal, "n": j, "seeds": list(plan.shots)}
        if self.balance_by is not None:
            meta[self.balance_by] = plan.category
        return meta

    def _screen(
        self, raw: list[dict[str, Any]], meta: dict[str, Any], trace: str | None = None
    ) -> Example | Drop:
        """Schema, reasoning, quality and the extra checks: everything that needs no other
        candidate."""
        tools, parallel = self.toolbox(meta.get("seeds", ()))
        built = to_example(raw, system=self.system, metadata=meta, tools=tools, parallel=parallel)
        if isinstance(built, Drop):
            return built
        built = self.reasoning(built, raw, trace)
        if isinstance(built, Drop):
            return built
        checks: list[Callable[[Example], Drop | None]] = [self.quality, *self.checks]
        for check in checks:
            drop = check(built)
            if drop is not None:
                return drop
        return built

    def worth_judging(self, plan: RequestPlan, completion: Completion) -> dict[int, Example]:
        """The candidates of a reply that could still be accepted, so the judge (a paid call
        each) only sees those. The index only grows, so a candidate that duplicates something
        now would be dropped at curation anyway."""
        self._flush_restored()
        if completion.finish_reason == "length" or self.full(plan.category):
            return {}
        if split_think(completion.text).cut:
            return {}
        try:
            conversations = parse_reply(completion.text)
        except ParseError:
            return {}
        out = {}
        trace = self._trace(plan, completion, len(conversations))
        for j, raw in enumerate(conversations[: self._limit(plan, len(conversations))]):
            built = self._screen(raw, self._meta(plan, j), trace)
            if isinstance(built, Example) and self.index.check(built.dedup_text()) is None:
                out[j] = built
        if self.semantic is not None and out:
            vectors = self.semantic.embed([b.dedup_text() for b in out.values()])
            fresh = [self.semantic.check(v) is None for v in vectors]
            out = {j: b for (j, b), ok in zip(out.items(), fresh, strict=True) if ok}
        return out

    def _verdict(
        self,
        plan: RequestPlan,
        built: Example | Drop,
        meta: dict[str, Any],
        guard: PromptGuard | None,
        scores: Mapping[int, tuple[int | None, str]] | None = None,
    ) -> Example | Drop:
        if isinstance(built, Drop):
            return built
        if self.full(plan.category):
            return Drop("over_quota", f"category {plan.category!r} already has its share")
        text = built.dedup_text()
        features = self.index.features(text)
        verdict = self._unless_dropped(built, meta, guard, scores)
        vector, similar = None, None
        if self.semantic is not None:
            vector = self.semantic.embed([text])[0]
            similar = self.semantic.check(vector)
        # One call to the index either way. A candidate the other filters keep is checked
        # and added in one step: with an index shared by workers, none can accept a near
        # copy in between. Duplicates are still reported first: "copies the example it was
        # shown" is the less telling reason when the copy duplicates an earlier example or
        # a seed anyway, and so before a paraphrase (checked before the add, so that the
        # MinHash index never holds a candidate --semantic-dedup dropped).
        if isinstance(verdict, Drop) or similar is not None:
            match = self.index.check_features(features)
        else:
            key = f"{plan.ordinal}:{meta['n']}"
            match = self.index.check_and_add_features(key, features, tag="accepted")
            if match is None and self.semantic is not None and vector is not None:
                self.semantic.add(key, vector, text=text)
        if match is not None:
            if match.tag == "seed":
                return Drop("seed_copy", f"copies {match.key} (Jaccard {match.jaccard:.2f})")
            return Drop(match.reason, f"duplicates {match.key} (Jaccard {match.jaccard:.2f})")
        if similar is not None:
            why = f"paraphrases {similar.key} (cosine {similar.cosine:.2f})"
            return Drop("semantic_duplicate", why)
        if isinstance(verdict, Example):
            self.admit(verdict, plan.category)
        return verdict

    def _unless_dropped(
        self,
        built: Example,
        meta: dict[str, Any],
        guard: PromptGuard | None,
        scores: Mapping[int, tuple[int | None, str]] | None,
    ) -> Example | Drop:
        """The prompt guard's and the judge's verdicts on a candidate, which change nothing."""
        if guard is not None:
            drop = guard(built)
            if drop is not None:
                return drop
        if scores is not None:
            verdict = scores.get(meta["n"], (None, "not judged"))
            drop = judge_drop(verdict, self.min_score)
            if drop is not None:
                return drop
            built = built.with_metadata(judge_score=verdict[0])
        return built

    def admit(self, example: Example, category: str | None) -> None:
        self.accepted.append(example)
        self.filled[category] += 1

    def restore(self, example: Example, category: str | None, key: str) -> None:
        """Re-admit an example journaled before a crash (the dedup index must know it)."""
        self._restored.append((key, example.dedup_text(), "accepted"))
        if len(self._restored) >= RESTORE_BATCH:
            self._flush_restored()
        self.admit(example, category)

    def _flush_restored(self) -> None:
        if self._restored:
            self.index.add_many(self._restored)
            if self.semantic is not None:  # re-embedded: the journal keeps texts, not vectors
                self.semantic.add_many(self._restored)
            self._restored = []


def _row(plan: RequestPlan, drop: Drop, payload: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"request": plan.ordinal, "reason": drop.reason, "detail": drop.detail}
    row["messages" if isinstance(payload, list) else "text"] = payload
    return row
