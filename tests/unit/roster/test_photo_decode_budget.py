"""The decode budget: large images are never decoded side by side, small ones are, and each
photo reserves what decoding it really holds."""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Iterator

from PIL import Image

from services.roster.config import PhotoLimits
from services.roster.decode_budget import DecodeBudget
from services.roster.photos import process

LIMITS = PhotoLimits(max_bytes=5 * 1024 * 1024, max_pixels=40_000_000, full_px=1024, thumb_px=128)
WAIT = 10.0


class Holder:
    """A thread that reserves ``cost`` and keeps it until released."""

    def __init__(self, budget: DecodeBudget, cost: int) -> None:
        self.inside = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(budget, cost), daemon=True)
        self.thread.start()

    def _run(self, budget: DecodeBudget, cost: int) -> None:
        with budget.reserved(cost):
            self.inside.set()
            self.release.wait(WAIT)

    def finish(self) -> None:
        self.release.set()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()


def test_what_does_not_fit_waits_and_what_fits_goes_ahead() -> None:
    budget = DecodeBudget(100)
    first = Holder(budget, 60)
    assert first.inside.wait(WAIT)
    small = Holder(budget, 40)
    assert small.inside.wait(WAIT)  # 60 + 40 fit
    second = Holder(budget, 70)
    # Not in while the others hold 100: a negative can only be seen by waiting a little.
    assert not second.inside.wait(0.3)
    first.finish()
    assert not second.inside.wait(0.3)  # 40 + 70 is still over
    small.finish()
    assert second.inside.wait(WAIT)
    second.finish()


def test_an_image_larger_than_the_whole_budget_is_decoded_alone() -> None:
    budget = DecodeBudget(100)
    small = Holder(budget, 1)
    assert small.inside.wait(WAIT)
    huge = Holder(budget, 10_000)
    assert not huge.inside.wait(0.3)
    small.finish()
    assert huge.inside.wait(WAIT)
    other = Holder(budget, 1)
    assert not other.inside.wait(0.3)
    huge.finish()
    assert other.inside.wait(WAIT)
    other.finish()


class RecordingBudget(DecodeBudget):
    def __init__(self) -> None:
        super().__init__(1 << 40)
        self.costs: list[int] = []

    @contextlib.contextmanager
    def reserved(self, cost_bytes: int) -> Iterator[None]:
        self.costs.append(cost_bytes)
        with super().reserved(cost_bytes):
            yield


def _encoded(image: Image.Image, format_name: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format_name)
    return buffer.getvalue()


def test_an_rgba_png_reserves_its_pixels_and_their_scaling_copy() -> None:
    budget = RecordingBudget()
    process(_encoded(Image.new("RGBA", (3000, 2000), (1, 2, 3, 4)), "PNG"), LIMITS, budget)
    assert budget.costs == [3000 * 2000 * 8]


def test_a_jpeg_reserves_only_its_reduced_draft() -> None:
    budget = RecordingBudget()
    process(_encoded(Image.new("RGB", (4000, 3000), (9, 9, 9)), "JPEG"), LIMITS, budget)
    # Decoded at half scale (2000 x 1500 still covers 1024 px), four bytes a pixel.
    assert budget.costs == [2000 * 1500 * 4]
