"""The sliding-window limiter, driven by a fake clock."""

from __future__ import annotations

from services.gateway.rate_limit import SlidingWindowLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_allows_the_limit_then_refuses_with_retry_after() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(3, 60.0, clock=clock)
    assert all(limiter.hit("10.0.0.1").allowed for _ in range(3))
    clock.now += 10
    refused = limiter.hit("10.0.0.1")
    assert not refused.allowed
    assert refused.retry_after_seconds == 50


def test_addresses_are_counted_apart() -> None:
    limiter = SlidingWindowLimiter(1, 60.0, clock=FakeClock())
    assert limiter.hit("a").allowed
    assert limiter.hit("b").allowed
    assert not limiter.hit("a").allowed


def test_window_slides_rather_than_resetting() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(2, 60.0, clock=clock)
    assert limiter.hit("a").allowed  # t=0
    clock.now += 50
    assert limiter.hit("a").allowed  # t=50
    clock.now += 15  # t=65: the first call left the window, the second has not
    assert limiter.hit("a").allowed
    assert not limiter.hit("a").allowed
    clock.now += 45  # t=110: the call at t=50 left the window
    assert limiter.hit("a").allowed


def test_refused_calls_do_not_extend_the_wait() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(1, 60.0, clock=clock)
    assert limiter.hit("a").allowed
    for _ in range(10):
        clock.now += 5
        assert not limiter.hit("a").allowed
    clock.now += 10.5
    assert limiter.hit("a").allowed


def test_idle_addresses_are_forgotten() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(5, 60.0, clock=clock, sweep_every=10)
    for index in range(10):
        limiter.hit(f"10.0.0.{index}")
    clock.now += 61
    for _ in range(10):
        limiter.hit("10.0.1.1")
    assert limiter.tracked_keys() == 1
