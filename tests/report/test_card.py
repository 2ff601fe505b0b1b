"""The dataset card, rendered from a real run's report (see conftest.real_run)."""

from __future__ import annotations

import copy
import types
import typing
from importlib.resources import files
from typing import Any

import jinja2
import pytest
import yaml
from jinja2 import nodes
from pydantic import BaseModel, ValidationError

from synthgen import Result
from synthgen.report import card as card_module
from synthgen.report.card import REASONS, dataset_card, size_category
from synthgen.report.model import Rejected, Report, Split, Stop

COMMAND = "synthgen expand seeds/faq-pl.jsonl -n 1200 --model gpt-4o-mini -o out/faq"


@pytest.fixture
def report(real_run: Result) -> Report:
    assert real_run.typed_report is not None
    return real_run.typed_report


def _front(card: str) -> dict[str, Any]:
    assert card.startswith("---\n")
    head, _, _ = card[4:].partition("\n---\n")
    data = yaml.safe_load(head)
    assert isinstance(data, dict)
    return data


def test_front_matter_is_hub_metadata(report: Report) -> None:
    meta = _front(dataset_card(report, command=COMMAND, language="pl"))
    assert meta["language"] == ["pl"]
    assert meta["task_categories"] == ["text-generation"]
    assert meta["size_categories"] == ["n<1K"]
    assert meta["tags"] == ["synthetic", "synthgen"]
    assert meta["pretty_name"] == "support (synthetic, synthgen)"
    assert meta["configs"] == [
        {
            "config_name": "default",
            "data_files": [
                {"split": "train", "path": "train.jsonl"},
                {"split": "validation", "path": "eval.jsonl"},
            ],
        }
    ]


def test_language_from_report_and_none(report: Report) -> None:
    kk = report.model_copy(update={"language": "kk"})
    assert _front(dataset_card(kk, command=COMMAND))["language"] == ["kk"]
    unknown = report.model_copy(update={"language": None})
    assert "language" not in _front(dataset_card(unknown, command=COMMAND))
    card = dataset_card(unknown, command=COMMAND, language=["pl", "en"])
    assert _front(card)["language"] == ["pl", "en"]
    assert "with synthgen, in `pl`, `en`." in card


def test_no_validation_split_when_eval_is_empty(report: Report) -> None:
    small = report.model_copy(update={"split": Split(train=5, eval=0, eval_fraction=0.1)})
    files_ = _front(dataset_card(small, command=COMMAND))["configs"][0]["data_files"]
    assert files_ == [{"split": "train", "path": "train.jsonl"}]


@pytest.mark.parametrize(
    ("n", "bucket"),
    [(0, "n<1K"), (999, "n<1K"), (1_000, "1K<n<10K"), (54_321, "10K<n<100K"), (10**6, "1M<n<10M")],
)
def test_size_category(n: int, bucket: str) -> None:
    assert size_category(n) == bucket


def test_sections_carry_the_report(real_run: Result, report: Report) -> None:
    assert real_run.out_dir is not None
    card = (real_run.out_dir / "README.md").read_text(encoding="utf-8")
    seeds, requests, rejected = report.seeds, report.requests, report.rejected
    assert len(rejected.by_reason) >= 3  # the run exercised the reasons table
    assert report.language == "en"
    rate = report.accepted / report.candidates
    for text in (
        f"{report.total:,} synthetic conversations written by `m` from {seeds.count} seed "
        f"examples with synthgen, in `{report.language}`.",
        f"- Splits: train {report.split.train:,}, validation {report.split.eval:,} (10% held out)",
        "OpenAI chat fine-tuning JSONL",
        "- Every conversation carries the same system prompt (below).",
        "- Balanced by `category`: account 10, billing 10, technical 10.",
        f"- Endpoint: {report.teacher.endpoint}",
        f"- File: `{seeds.path}` (chat)",
        f"- sha256: `{seeds.sha256}`",
        f"```text\n{seeds.system}\n```",
        f"The teacher proposed {report.candidates:,} conversations; {report.accepted:,} were "
        f"accepted ({rate:.0%}) and {rejected.total:,} dropped.",
        *(f"| `{r}` | {n:,} | {REASONS[r]} |" for r, n in rejected.by_reason.items()),
        f"- requests: {requests.sent:,} sent to the teacher, {requests.cache_hits:,} from cache, "
        f"{requests.retries:,} retries, {requests.failed:,} failed; "
        f"{report.replies:,} replies curated",
        f"- prompt tokens: {report.tokens.prompt:,}",
        f"- completion tokens: {report.tokens.completion:,}",
        f"- cost: ${report.cost_usd:,.4f} (estimated from list prices)",
        f"```bash\nsynthgen expand {seeds.path} -n 30 ",
        f"(sha256 `{seeds.sha256[:12]}…`)",
        "## Synthetic data",
    ):
        assert text in card, text
    assert "Incomplete run" not in card


def test_card_counts_requests_sent_not_requests_curated(report: Report) -> None:
    # The review's run: 11 requests sent, 6 curated; the other 5 were still in flight when
    # the last example was accepted. The card used to read a stale key and say 6.
    requests = report.requests.model_copy(update={"total": 6, "sent": 11, "cache_hits": 0})
    sent = report.model_copy(update={"requests": requests, "replies": 6})
    card = dataset_card(sent, command=COMMAND)
    assert "- requests: 11 sent to the teacher, 0 from cache, " in card
    assert "; 6 replies curated" in card


def test_template_mix_and_diversity(report: Report) -> None:
    card = dataset_card(report, command=COMMAND)
    templates = report.teacher.templates
    assert {t.name: t.weight for t in templates} == {"expand": 3, "evolve": 1}
    assert "| template | sha256 | weight | temperature | per request |" in card
    for t in templates:
        row = f"| `{t.name}` | `{t.sha256}` | {t.weight} | {t.temperature} | {t.per_request} |"
        assert row in card
    d = report.diversity
    assert d.distinct_2 is not None and d.seeds_distinct_2 is not None
    assert d.mean_pairwise_jaccard is not None
    assert f"| distinct-2 | {d.distinct_2:.4f} | {d.seeds_distinct_2:.4f} |" in card
    assert (
        f"| mean pairwise Jaccard (word 3-grams, {d.jaccard_sample} sampled) "
        f"| {d.mean_pairwise_jaccard:.4f} |  |"
    ) in card
    assert f"Each seed inspired between {d.inspired.min} and {d.inspired.max} accepted" in card


def test_unused_seeds_are_listed_up_to_twenty(report: Report) -> None:
    inspired = report.diversity.inspired.model_copy(update={"min": 0, "unused": list(range(25))})
    diversity = report.diversity.model_copy(update={"inspired": inspired})
    card = dataset_card(report.model_copy(update={"diversity": diversity}), command=COMMAND)
    shown = ", ".join(str(i) for i in range(20))
    assert f"; 25 inspired none (indices {shown}, ...)." in card


def test_incomplete_run_is_flagged(report: Report) -> None:
    stop = Stop(reason="max_cost", detail="--max-cost $1 reached")
    stopped = report.model_copy(update={"complete": False, "accepted": 12, "stop": stop})
    card = dataset_card(stopped, command=COMMAND)
    assert (
        "- **Incomplete run**: stopped (max_cost: --max-cost $1 reached) with 12 of 30 "
        "requested examples."
    ) in card


def test_a_report_the_model_does_not_fit_is_an_error(report_data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        dataset_card({}, command=COMMAND)
    stale = copy.deepcopy(report_data)
    stale["requests"]["paid"] = stale["requests"].pop("sent")
    with pytest.raises(ValidationError, match="paid"):
        dataset_card(stale, command=COMMAND)


def test_report_json_renders_the_written_card(
    real_run: Result, report_data: dict[str, Any]
) -> None:
    assert real_run.out_dir is not None
    written = (real_run.out_dir / "README.md").read_text(encoding="utf-8")
    command = written.split("```bash\n", 1)[1].split("\n```", 1)[0]
    assert dataset_card(report_data, command=command) == written


def test_markdown_is_escaped(report: Report) -> None:
    train = report.validation.train.model_copy(update={"warnings": ["a | b\nc"]})
    odd = report.model_copy(
        update={
            "rejected": Rejected(total=1, by_reason={"odd|reason": 1}),
            "validation": report.validation.model_copy(update={"train": train}),
            "seeds": report.seeds.model_copy(
                update={"system": "Answer with ```code``` blocks when useful."}
            ),
        }
    )
    card = dataset_card(odd, command="synthgen expand 'a b.txt' -n 3")
    assert "| `odd\\|reason` | 1 |  |" in card
    assert "; a \\| b c\n" in card
    assert "````text\nAnswer with ```code``` blocks when useful.\n````" in card
    assert "```bash\nsynthgen expand 'a b.txt' -n 3\n```" in card


def test_the_template_fails_on_a_name_it_is_not_given() -> None:
    with pytest.raises(jinja2.UndefinedError):
        card_module._template().render()


# --- every field the template names is a field of the Report -----------------------------


def _field_type(model: type[BaseModel], name: str) -> object:
    """The annotation of ``model.name``, without its ``| None``; raises KeyError if absent."""
    if isinstance(getattr(model, name, None), property):
        return None
    annotation = model.model_fields[name].annotation
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return args[0]
    return annotation


def _unknown_fields(source: str) -> list[str]:
    """Attribute chains in ``source`` that name no field of the Report (or of a section a
    ``for``/``with``/``set`` bound to a name), so a branch no test renders is checked too."""
    tree = jinja2.Environment().parse(source)
    bound: dict[str, object] = {"report": Report}
    unknown: list[str] = []

    def resolve(node: nodes.Node) -> object:
        if isinstance(node, nodes.Name):
            return bound.get(node.name)
        if not isinstance(node, nodes.Getattr):
            return None
        owner = resolve(node.node)
        if not (isinstance(owner, type) and issubclass(owner, BaseModel)):
            return None
        try:
            return _field_type(owner, node.attr)
        except KeyError:
            unknown.append(f"{_chain(node.node)}.{node.attr}")
            return None

    for node in tree.find_all((nodes.For, nodes.With, nodes.Assign, nodes.Getattr)):
        if isinstance(node, nodes.For) and isinstance(node.target, nodes.Name):
            items = resolve(node.iter)
            bound[node.target.name] = (typing.get_args(items) or [None])[0]
        elif isinstance(node, nodes.With):
            for target, value in zip(node.targets, node.values, strict=True):
                if isinstance(target, nodes.Name):
                    bound[target.name] = resolve(value)
        elif isinstance(node, nodes.Assign) and isinstance(node.target, nodes.Name):
            bound[node.target.name] = resolve(node.node)
        elif isinstance(node, nodes.Getattr):
            resolve(node)
    return sorted(set(unknown))


def _chain(node: nodes.Node) -> str:
    if isinstance(node, nodes.Getattr):
        return f"{_chain(node.node)}.{node.attr}"
    return node.name if isinstance(node, nodes.Name) else "?"


def test_the_template_names_only_fields_of_the_report() -> None:
    source = files("synthgen.report").joinpath("card.md.j2").read_text(encoding="utf-8")
    assert _unknown_fields(source) == []
    # The check itself finds a stale name, in a loop and in a branch alike.
    stale = (
        "{% if report.complete %}{{ report.requests.paid }}{% endif %}"
        "{% for t in report.teacher.templates %}{{ t.nme }}{% endfor %}"
        "{% with d = report.diversity %}{{ d.inspired.maximum }}{% endwith %}"
    )
    assert _unknown_fields(stale) == ["d.inspired.maximum", "report.requests.paid", "t.nme"]
