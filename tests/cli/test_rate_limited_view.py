"""What a run shows while a 429 storm pauses it, and what the summary says of hedged
requests and rate-limit waits afterwards."""

from __future__ import annotations

from synthgen.cli.live import figures
from synthgen.cli.summary import stall_lines
from synthgen.run.stats import RunStats


def test_a_paused_run_says_it_is_rate_limited_and_waiting() -> None:
    stats = RunStats(started=100.0, resumed_at=100.0)
    stats.live_faults["rate_limit"] = 7
    stats.waiting_since = 130.0
    shown = figures(stats, n=50, tpm=None, since=100.0, now=142.0)
    assert "rate limited, waiting 12s" in shown.head
    assert "429s 7" in shown.detail
    stats.waiting_since = None  # the storm is over
    assert not any("waiting" in x for x in figures(stats, n=50, tpm=None, since=100.0).head)


def test_the_summary_counts_hedges_and_waits() -> None:
    stats = RunStats()
    stats.hedge.count(2, 1, 300, 120, 0.0015)
    stats.rate_limit_pauses, stats.rate_limited_s, stats.header_holds = 1, 61.2, 3
    report = {"requests": stats.to_dict()["requests"], "run": stats.run_section()}
    hedged, waited = stall_lines(report)
    assert "2 duplicates sent" in hedged and "1 attempts abandoned" in hedged
    assert "300 in / 120 out" in hedged and "$0.0015" in hedged
    assert "1 pauses" in waited and "61s waiting" in waited and "3 holds" in waited
    assert stall_lines({"requests": RunStats().to_dict()["requests"], "run": {}}) == []
