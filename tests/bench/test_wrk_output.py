"""wrk is not installed everywhere the bench runs, so its output parser is checked on a sample."""

from __future__ import annotations

from bench.loadgen import Request, parse_wrk, wrk_script

WRK_OUTPUT = """Running 10s test @ https://localhost:8443
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    25.31ms   10.02ms 120.50ms   80.00%
    Req/Sec     2.50k   200.00     3.00k    70.00%
  Latency Distribution
     50%   23.10ms
     75%   30.00ms
     90%   38.00ms
     99%    1.20s
  25000 requests in 10.00s, 30.00MB read
  Non-2xx or 3xx responses: 12
Requests/sec:   2500.00
"""


def test_parse_wrk_reads_counts_and_percentiles() -> None:
    result = parse_wrk(WRK_OUTPUT, connections=64)

    assert result.generator == "wrk"
    assert result.summary.ok == 24988
    assert result.summary.errors == 12
    assert result.summary.seconds == 10.0
    assert result.summary.p50_ms == 23.1
    assert result.summary.p99_ms == 1200.0
    assert result.summary.max_ms == 120.5
    assert result.sent_in_all == 25000


def test_wrk_script_cycles_through_every_request() -> None:
    script = wrk_script(
        [
            Request("POST", "/v1/sessions", {"Content-Type": "application/json"}, b'{"a": "b"}'),
            Request("GET", "/v1/me", {"Authorization": "Bearer t"}),
        ]
    )

    assert 'path="/v1/sessions"' in script
    assert 'body="{\\"a\\": \\"b\\"}"' in script
    assert '["Authorization"]="Bearer t"' in script
    assert "body=nil" in script
    assert "i % #plan + 1" in script
