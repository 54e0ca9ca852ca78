"""A small `python -m bench search`: the load, the searches and both memory measures run end to end."""
from __future__ import annotations

from bench.search import run


def test_a_small_search_bench_reports_latency_and_the_index_memory_share():
    result = run(jobs=3_000, dead=300, searches=50)
    assert result["jobs"] == 3_000 and result["dead_letters"] == 300
    assert result["items_per_search_avg"] > 0 and result["error_words_hits"] == 50
    assert set(result["search_ms"]) == {"p50", "p95", "p99", "max"}
    index = result["index"]
    assert index["keys"] > 0 and index["entries"] >= 3_300  # every job names at least one key
    assert 0 < result["index_share_of_jobs"] < 1 and 0 < result["index_share_sampled"] < 1
