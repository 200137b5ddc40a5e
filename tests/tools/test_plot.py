"""The figures' drawing: where interval bars land in pixels, and their open ends."""
import numpy as np
from PIL import Image

from minimi.tools.plot import COLORS, Figure

RED = np.array(COLORS["red"])
# One 420x300 panel: its plot area spans pixels x 62..408 and y 26..258.
X0, Y0, X1, Y1 = 62, 26, 408, 258


def px(x):
    return X0 + x / 10 * (X1 - X0)


def py(y):
    return Y1 - y / 10 * (Y1 - Y0)


def drawn(tmp_path, draw):
    fig = Figure(rows=1, cols=1, panel_size=(420, 300))
    ax = fig.panel(0, 0, xlim=(0, 10), ylim=(0, 10))
    draw(ax)
    fig.save(tmp_path / "f.png")
    return np.asarray(Image.open(tmp_path / "f.png").convert("RGB")).astype(int)


def red(image, x, ys):
    """Is there red within a pixel of (x, y), for each y of ys?"""
    x = int(round(x))
    return [bool((np.abs(image[int(round(y)) - 1:int(round(y)) + 2, x - 1:x + 2] - RED)
                  .sum(axis=2) < 30).any()) for y in ys]


def test_a_bar_spans_its_interval_with_caps_at_both_ends(tmp_path):
    image = drawn(tmp_path, lambda ax: ax.bars([5], [2], [8], color="red"))
    assert all(red(image, px(5), np.linspace(py(8) + 2, py(2) - 2, 20)))
    assert not any(red(image, px(5), [py(8) - 6, py(2) + 6, py(9.5), py(0.5)]))
    for y in (2, 8):  # the caps reach 4 pixels either side of the bar
        assert red(image, px(5) - 3, [py(y)]) == red(image, px(5) + 3, [py(y)]) == [True]


def test_an_open_end_runs_to_the_edge_and_ends_in_an_arrow(tmp_path):
    image = drawn(tmp_path, lambda ax: ax.bars([5], [2], [None], color="red"))
    assert all(red(image, px(5), np.linspace(Y0 + 2, py(2) - 2, 20)))
    assert red(image, px(5) + 3, [py(2)]) == [True]          # the closed end has its cap
    # the open one an arrowhead: narrow at the edge, 8 pixels wide 6 pixels below it
    assert red(image, px(5) + 4, [Y0 + 6]) == red(image, px(5) - 4, [Y0 + 6]) == [True]
    assert not any(red(image, px(5) + 4, [Y0 + 1]))


def test_an_end_off_the_panel_has_neither_cap_nor_arrow(tmp_path):
    image = drawn(tmp_path, lambda ax: ax.bars([5], [2], [15], color="red"))
    assert all(red(image, px(5), np.linspace(Y0 + 2, py(2) - 2, 20)))
    assert not any(red(image, px(5) + 4, range(Y0 + 1, Y0 + 9)))


def test_bars_with_no_interval_or_outside_the_panel_are_left_out(tmp_path):
    image = drawn(tmp_path, lambda ax: ax.bars([3, 5, 12], [None, 8, 2], [float("inf"), 2, 8],
                                               color="red"))
    area = image[Y0 + 2:Y1 - 1, X0 + 2:X1 - 1]
    assert not (np.abs(area - RED).sum(axis=2) < 30).any()


def test_bars_widen_the_panels_own_limits(tmp_path):
    fig = Figure(rows=1, cols=1, panel_size=(420, 300))
    ax = fig.panel(0, 0)
    ax.points([1, 2], [5, 5], color="blue")
    ax.bars([1, 2], [0, 4], [9, 6], color="red", label="interval")
    xlo, xhi, ylo, yhi = ax._limits()
    assert ylo < 0 and yhi > 9 and (xlo, xhi) == (1, 2)
