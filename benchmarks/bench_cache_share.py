"""Cached-token share and the $ it saves, on a FakeTeacher that reports ``cached_tokens`` the
way OpenAI does (from 1,024 tokens, in 128-token steps, for a prefix it has seen before).

    python benchmarks/bench_cache_share.py [--n 300] [--json FILE]

A realistic run: ``expand`` of ``samples/support.jsonl`` balanced by category, 16 in flight,
priced as ``gpt-4o-mini`` (litellm's table: input $0.15/M, cached input $0.075/M, output
$0.60/M), against dirty replies (5 % cut at the token limit, 2 % empty, 10 % with one
conversation more than asked, 10 % repeating one of their conversations). Each system
prompt is run with synthgen's prompt order (fixed part first: instructions, output shape,
the dataset's system prompt; then category and examples) and with the order before it (the
instructions and output shape after the examples), side by side; the dry-run estimate is
printed beside the measured share. Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import print_machine  # noqa: E402

MODEL = "gpt-4o-mini"
# Cached input at a quarter (gpt-4.1-mini) and a tenth (gpt-5-mini, deepseek-chat) of the
# input price, where gpt-4o-mini's is a half.
OTHER_MODELS = ("gpt-4.1-mini", "gpt-5-mini", "deepseek/deepseek-chat")

# The expand template as it was before prompts put their fixed part first.
OLD_EXPAND = ROOT / "benchmarks" / "expand_before.j2"

_TOPICS = [
    ("Plans", "Free holds 3 notebooks and 1 GB; Pro is $6 a month or $60 a year, unlimited"),
    ("Billing", "invoices are PDFs under Settings > Billing > Invoices; refunds within 14 days"),
    ("Sync", "sync runs every 30 s on Wi-Fi; conflicts keep both copies, the older one renamed"),
    ("Sharing", "share links can be view-only or edit; links expire after 30 days unless pinned"),
    ("Security", "two-factor by app or SMS; Sign out of all devices is under Account > Security"),
    ("Export", "export to Markdown, PDF or HTML, one notebook at a time or the whole account"),
    ("Import", "Evernote .enex and plain Markdown folders import with tags and attachments"),
    ("Offline", "Pro keeps every notebook offline; Free only the three most recently opened"),
    ("Deletion", "deleted notes stay 30 days in Trash; a deleted account can be restored 30 days"),
    ("Teams", "team admins invite by email, set roles, and see usage under Admin > Members"),
]


def long_system_prompt() -> str:
    """A production-sized system prompt (≈1,500 FakeTeacher tokens): the product facts and
    the tone rules a support assistant is given."""
    lines = [
        "You are the support assistant for Lumen Notes, a note-taking app with a Free plan "
        "and a Pro plan. Be friendly, concise and accurate, and point to the exact place in "
        "the app. Never promise what the facts below do not say; when unsure, offer to hand "
        "the conversation to a person."
    ]
    for name, fact in _TOPICS:
        lines.append(
            f"{name}: {fact}. When a user asks about {name.lower()}, answer in at most four "
            f"sentences, name the menu path, and say what happens next; if the question is "
            f"about a charge, a lost note or access to an account, apologise once, briefly."
        )
    lines.append(
        "Style: plain sentences, no marketing language, no emoji, the user's own language; "
        "short numbered steps when there are more than two; never blame the user."
    )
    return "\n".join(lines * 2)


class DirtyTeacher:
    """FakeTeacher's placeholder replies, made as untidy as real ones are."""

    def __init__(self) -> None:
        from synthgen.teacher.demo import DemoGenerator

        self.generator = DemoGenerator()

    def __call__(self, body: dict[str, Any], index: int) -> Any:
        from synthgen.testing import Fault

        rng = random.Random(index)
        draw = rng.random()
        if draw < 0.05:
            return Fault("length")
        if draw < 0.07:
            return ""
        reply = self.generator.reply(body["messages"])
        convs = reply["conversations"]
        if draw < 0.17 and convs:
            convs.append(convs[0])  # one more than asked
        elif draw < 0.27 and len(convs) > 1:
            convs[-1] = convs[0]  # a repeat inside the reply
        return reply


def one_run(template: str, system: str | None, n: int) -> dict[str, Any]:
    from synthgen import expand
    from synthgen.testing import FakeTeacher

    folder = Path(tempfile.mkdtemp())
    os.environ["SYNTHGEN_CACHE_DIR"] = str(folder / "cache")
    with FakeTeacher(handler=DirtyTeacher()) as fake:
        result = expand(
            ROOT / "samples" / "support.jsonl",
            n,
            model=MODEL,
            base_url=fake.base_url,
            out_dir=folder / "out",
            template=template,
            system=system,
            balance_by="category",
            concurrency=16,
        )
    return result.report


def estimate(template: str, system: str | None, n: int) -> dict[str, Any]:
    from synthgen.run.expand import dry_run_result, prepare
    from synthgen.settings import Settings

    settings = Settings(
        n=n,
        model=MODEL,
        out_dir=Path(tempfile.mkdtemp()) / "o",
        template=template,
        system=system,
        balance_by="category",
    )
    est: dict[str, Any] = dry_run_result(
        prepare(ROOT / "samples" / "support.jsonl", settings)
    ).report["estimate"]
    return est


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    print_machine()
    figures = []
    print(
        f"expand -n {args.n}, samples/support.jsonl, --balance-by category, 16 in flight, "
        f"priced as {MODEL}\n"
    )
    header = (
        "| system prompt | prompt order | prompt tokens | cached | cached share | "
        "dry-run estimate | cost | saved by caching | cost without caching |"
    )
    print(header)
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    long = long_system_prompt()
    for label, system in (
        ("the seeds' own (≈40 tokens)", None),
        (f"≈{len(long) // 4:,} tokens", long),
    ):
        for order, template in (("fixed part first", "expand"), ("before", str(OLD_EXPAND))):
            r = one_run(template, system, args.n)
            est = estimate(template, system, args.n)
            tokens, use = r["tokens"], r["token_use"]
            saved = use["cache_saving_usd"] or 0.0
            est_share = est["cached_prompt_tokens"] / est["prompt_tokens"]
            row = {
                "system": label,
                "order": order,
                "prompt_tokens": tokens["prompt"],
                "cached_tokens": tokens["cached"],
                "cached_share": use["cached_share"],
                "estimated_share": round(est_share, 4),
                "cost_usd": r["cost_usd"],
                "saving_usd": saved,
                "cost_without_caching_usd": round(r["cost_usd"] + saved, 6),
                "accepted": r["accepted"],
                "per_accepted": use["per_accepted"],
                "by_outcome": use["by_outcome"],
            }
            figures.append(row)
            print(
                f"| {label} | {order} | {tokens['prompt']:,} | {tokens['cached']:,} | "
                f"{use['cached_share']:.1%} | {est_share:.1%} | ${r['cost_usd']:.4f} | "
                f"${saved:.4f} ({saved / (r['cost_usd'] + saved):.1%}) | "
                f"${r['cost_usd'] + saved:.4f} |"
            )
    print("\nwhere the tokens went (fixed part first):\n")
    for row in figures:
        if row["order"] != "fixed part first":
            continue
        per = row["per_accepted"]
        top = ", ".join(
            f"{k} {v['share']:.1%} (${v['cost_usd']:.4f})" for k, v in row["by_outcome"].items()
        )
        print(
            f"- system prompt {row['system']}: {row['accepted']} accepted; per accepted example "
            f"{per['prompt']:,.0f} prompt + {per['completion']:,.0f} completion tokens; {top}"
        )
    print("\nthe same tokens at other providers' cached discounts (fixed part first):\n")
    from synthgen.teacher.pricing import estimate_cost

    for row in figures:
        if row["order"] != "fixed part first" or not row["cached_tokens"]:
            continue
        completion = round(row["accepted"] * row["per_accepted"]["completion"])
        for model in OTHER_MODELS:
            full = estimate_cost(model, row["prompt_tokens"], completion) or 0.0
            cached = estimate_cost(model, row["prompt_tokens"], completion, row["cached_tokens"])
            saved = full - (cached or 0.0)
            print(
                f"- {model}: ${cached or 0.0:.4f} instead of ${full:.4f} "
                f"(caching saves ${saved:.4f}, {saved / full:.1%})"
            )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
