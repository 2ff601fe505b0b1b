"""How to load each output format in the trainers people use: axolotl config YAML, a TRL
``SFTTrainer`` script and, for the two formats LLaMA-Factory defines, its ``dataset_info.json``
entry. The dataset card shows them (``loader_snippets``); they are data here so that the
card's template stays free of per-format logic and a test can check them against the format
table (every format has both, the YAML parses, the Python compiles).
"""

from __future__ import annotations

import json

from synthgen.data.shapes import FORMATS
from synthgen.errors import ConfigError

__all__ = ["SNIPPET_LANGUAGE", "loader_snippets"]

# The code-fence language of each snippet kind.
SNIPPET_LANGUAGE = {"axolotl": "yaml", "trl": "python", "llama-factory": "json"}

_CHAT_TEMPLATE = """\
    type: chat_template
    field_messages: messages
"""
_SHAREGPT_TEMPLATE = """\
    type: chat_template
    field_messages: conversations
    message_property_mappings:
      role: from
      content: value
    roles:
      system: [system]
      user: [human]
      assistant: [gpt]
"""
_ALPACA_TYPE = """\
    type:
      field_system: system
      field_instruction: instruction
      field_input: input
      field_output: output
      system_format: "{system}\\n\\n"
      format: "### Instruction:\\n{instruction}\\n\\n### Input:\\n{input}\\n\\n### Response:\\n"
      no_input_format: "### Instruction:\\n{instruction}\\n\\n### Response:\\n"
"""
_AXOLOTL_HEAD = {
    "prompt-completion": "# axolotl has no loader for TRL's conversational prompt/completion"
    " rows:\n# for axolotl, write the dataset with --format openai; this loads that file.\n",
    "alpaca": "# axolotl's alpaca loaders read no `history`: earlier turns of multi-turn rows are\n"
    "# lost (write --format sharegpt for axolotl). This type keeps the `system` field.\n",
}
_AXOLOTL_TYPE = {
    "openai": _CHAT_TEMPLATE,
    "trl": _CHAT_TEMPLATE,
    "prompt-completion": _CHAT_TEMPLATE,
    "sharegpt": _SHAREGPT_TEMPLATE,
    "alpaca": _ALPACA_TYPE,
}

_SHAREGPT_MAP = """
ROLE = {"system": "system", "human": "user", "gpt": "assistant"}


def to_messages(row):
    turns = row["conversations"]
    return {"messages": [{"role": ROLE[t["from"]], "content": t["value"]} for t in turns]}


data = data.map(to_messages, remove_columns=["conversations"])
"""
_ALPACA_MAP = """
def turn(user, assistant):
    return [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]


def to_messages(row):
    messages = [{"role": "system", "content": row["system"]}] if row.get("system") else []
    for user, assistant in row.get("history") or []:
        messages += turn(user, assistant)
    prompt = "\\n\\n".join(part for part in (row["instruction"], row["input"]) if part)
    return {"messages": messages + turn(prompt, row["output"])}


columns = [c for c in data["train"].column_names if c != "metadata"]
data = data.map(to_messages, remove_columns=columns)
"""
# SFTTrainer reads openai/trl rows and TRL's prompt-completion rows as they are; the other
# two are turned into messages first, with the metadata column kept.
_TRL_MAP = {
    "sharegpt": _SHAREGPT_MAP,
    "alpaca": _ALPACA_MAP,
    "prompt-completion": "# prompt-completion rows: the loss covers the completion only.\n",
}


def loader_snippets(
    fmt: str, *, train: str = "train.jsonl", evals: str | None = "eval.jsonl"
) -> dict[str, str]:
    """``{kind: snippet}`` that load ``train`` (and ``evals``, unless None) written in
    ``fmt``; kinds are ``axolotl``, ``trl`` and, for alpaca and sharegpt, ``llama-factory``
    (``SNIPPET_LANGUAGE`` gives each one's fence language)."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown output format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    out = {"axolotl": _axolotl(fmt, train, evals), "trl": _trl(fmt, train, evals)}
    if fmt in ("alpaca", "sharegpt"):
        out["llama-factory"] = _llama_factory(fmt, train, evals)
    return out


def _axolotl(fmt: str, train: str, evals: str | None) -> str:
    kind = _AXOLOTL_TYPE[fmt]
    text = _AXOLOTL_HEAD.get(fmt, "")
    text += f"datasets:\n  - path: {train}\n    ds_type: json\n{kind}"
    if evals is not None:
        # A JSON file loads as a single split, which the datasets library names "train".
        text += f"test_datasets:\n  - path: {evals}\n    ds_type: json\n    split: train\n{kind}"
    return text.rstrip("\n")


def _trl(fmt: str, train: str, evals: str | None) -> str:
    files = {"train": train} if evals is None else {"train": train, "validation": evals}
    lines = [
        "from datasets import load_dataset",
        "from trl import SFTConfig, SFTTrainer",
        "",
        f'data = load_dataset("json", data_files={json.dumps(files)})',
    ]
    lines.append(_TRL_MAP.get(fmt, ""))
    lines += [
        "trainer = SFTTrainer(",
        '    model="Qwen/Qwen2.5-0.5B-Instruct",  # the model to fine-tune',
        '    args=SFTConfig(output_dir="sft"),',
        '    train_dataset=data["train"],',
    ]
    if evals is not None:
        lines.append('    eval_dataset=data["validation"],')
    lines += [")", "trainer.train()"]
    return "\n".join(lines)


def _llama_factory(fmt: str, train: str, evals: str | None) -> str:
    if fmt == "alpaca":
        spec: dict[str, object] = {
            "columns": {
                "prompt": "instruction",
                "query": "input",
                "response": "output",
                "system": "system",
                "history": "history",
            }
        }
    else:
        spec = {
            "formatting": "sharegpt",
            "columns": {"messages": "conversations"},
            "tags": {
                "role_tag": "from",
                "content_tag": "value",
                "user_tag": "human",
                "assistant_tag": "gpt",
                "system_tag": "system",
            },
        }
    entries = {"synthgen_train": {"file_name": train, **spec}}
    if evals is not None:
        entries["synthgen_eval"] = {"file_name": evals, **spec}
    return json.dumps(entries, indent=2)
