"""Line plots drawn with Pillow: panels with axes, ticks, labels, legends,
curves, markers, interval bars and reference lines. Enough for the paper's
figures, estimate-against-truth plots and the estimator's training curve,
nothing more.

    fig = Figure(rows=1, cols=2, title="One-hot, batch 100")
    ax = fig.panel(0, 0, title="MINE", xlabel="step", ylabel="nats")
    ax.line(steps, values, color="blue", label="value")
    ax.hline(math.log(16), color="black", dash=True, label="log 16")
    fig.save("onehot.png")
"""
import math

from PIL import Image, ImageDraw, ImageFont

from ..engine.files import write_atomic

COLORS = {
    "blue": (31, 119, 180), "orange": (255, 127, 14), "green": (44, 160, 44),
    "red": (214, 39, 40), "purple": (148, 103, 189), "brown": (140, 86, 75),
    "pink": (227, 119, 194), "gray": (127, 127, 127), "olive": (188, 189, 34),
    "cyan": (23, 190, 207), "black": (0, 0, 0),
}
PALETTE = ["blue", "orange", "green", "red", "purple", "brown", "pink", "olive", "cyan", "gray"]


def rgb(color, lighten=0.0):
    """A named or (r, g, b) color, blended toward white by `lighten` (0..1)."""
    r, g, b = COLORS[color] if isinstance(color, str) else color
    return tuple(int(c + (255 - c) * lighten) for c in (r, g, b))


def _font(size):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one fixed bitmap font
        return ImageFont.load_default()


def nice_ticks(lo, hi, count=5):
    """About `count` round tick values covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks, t = [], first
    while t <= hi + step * 1e-9:
        ticks.append(0.0 if abs(t) < step * 1e-9 else t)
        t += step
    return ticks


def _label(value):
    if value == 0:
        return "0"
    if abs(value) >= 1e4 or abs(value) < 1e-3:
        return f"{value:.0e}"
    return f"{value:g}" if abs(value) >= 1 else f"{value:.3g}"


class Axes:
    """One panel: curves and horizontal reference lines in data coordinates."""

    def __init__(self, title="", xlabel="", ylabel="", ylim=None, xlim=None):
        self.title, self.xlabel, self.ylabel = title, xlabel, ylabel
        self.ylim, self.xlim = ylim, xlim
        self.curves, self.hlines, self.markers, self.intervals = [], [], [], []

    def line(self, xs, ys, color="blue", width=2, label=None, lighten=0.0):
        """A polyline; None/NaN/inf points break it (a diverged run just stops)."""
        self.curves.append((list(xs), list(ys), rgb(color, lighten), width, label))

    def points(self, xs, ys, color="blue", label=None, radius=4):
        """Unconnected markers (a scatter); None/NaN/inf points are left out."""
        self.markers.append((list(xs), list(ys), rgb(color), radius, label))

    def hline(self, y, color="black", dash=True, label=None, width=1):
        self.hlines.append((y, rgb(color), dash, label, width))

    def bars(self, xs, lows, highs, color="blue", label=None, lighten=0.0):
        """Vertical interval bars from lows[i] to highs[i] at xs[i], capped at both ends.
        An end that is None or infinite is open: the bar runs to the panel's edge there and
        ends in an arrowhead (an interval unbounded on that side; an end merely off the
        panel has neither cap nor arrow); a bar with both ends open, or low > high, is
        left out."""
        self.intervals.append((list(xs), list(lows), list(highs), rgb(color, lighten), label))

    def _limits(self):
        series = self.curves + self.markers
        xs = [x for c in series for x in c[0]] + [x for b in self.intervals for x in b[0]]
        ys = [y for c in series for y in c[1] if y is not None and math.isfinite(y)]
        ys += [y for b in self.intervals for y in b[1] + b[2]
               if y is not None and math.isfinite(y)]
        ys += [h[0] for h in self.hlines]
        xlo, xhi = self.xlim or ((min(xs), max(xs)) if xs else (0.0, 1.0))
        ylo, yhi = self.ylim or ((min(ys), max(ys)) if ys else (0.0, 1.0))
        if yhi - ylo < 1e-12:
            ylo, yhi = ylo - 1.0, yhi + 1.0
        elif not self.ylim:
            pad = 0.05 * (yhi - ylo)
            ylo, yhi = ylo - pad, yhi + pad
        if xhi - xlo < 1e-12:
            xhi = xlo + 1.0
        return xlo, xhi, ylo, yhi

    def draw(self, draw, box, fonts):
        left, top, right, bottom = box
        small, normal = fonts
        x0, y0 = left + 62, top + 26          # plot area inside the panel
        x1, y1 = right - 12, bottom - 42
        xlo, xhi, ylo, yhi = self._limits()

        def px(x):
            return x0 + (x - xlo) / (xhi - xlo) * (x1 - x0)

        def py(y):
            return y1 - (y - ylo) / (yhi - ylo) * (y1 - y0)

        draw.rectangle([x0, y0, x1, y1], outline=(0, 0, 0))
        for t in nice_ticks(ylo, yhi):
            y = py(t)
            draw.line([x0, y, x1, y], fill=(232, 232, 232))
            draw.line([x0 - 4, y, x0, y], fill=(0, 0, 0))
            draw.text((x0 - 6, y), _label(t), fill=(0, 0, 0), font=small, anchor="rm")
        for t in nice_ticks(xlo, xhi):
            x = px(t)
            draw.line([x, y1, x, y1 + 4], fill=(0, 0, 0))
            draw.text((x, y1 + 6), _label(t), fill=(0, 0, 0), font=small, anchor="ma")
        draw.text(((x0 + x1) / 2, top + 4), self.title, fill=(0, 0, 0), font=normal, anchor="ma")
        draw.text(((x0 + x1) / 2, bottom - 18), self.xlabel, fill=(0, 0, 0), font=small,
                  anchor="ma")
        if self.ylabel:
            draw.text((left + 4, y0 - 14), self.ylabel, fill=(0, 0, 0), font=small)
        clip = (x0, y0, x1, y1)
        for xs, ys, color, width, _ in self.curves:
            for segment in _segments(xs, ys, px, py, ylo, yhi):
                _polyline(draw, segment, clip, color, width)
        for xs, lows, highs, color, _ in self.intervals:  # under the markers they belong to
            for x, lo, hi in zip(xs, lows, highs):
                _bar(draw, px(x), lo, hi, py, (xlo, xhi, ylo, yhi), x, color)
        for xs, ys, color, radius, _ in self.markers:
            for x, y in zip(xs, ys):
                if y is not None and math.isfinite(y) and ylo <= y <= yhi and xlo <= x <= xhi:
                    draw.ellipse([px(x) - radius, py(y) - radius, px(x) + radius,
                                  py(y) + radius], fill=color)
        for y, color, dash, _, width in self.hlines:  # reference lines stay on top
            if ylo <= y <= yhi:
                _hline(draw, x0, x1, py(y), color, dash, width)
        self._legend(draw, x0, y0, x1, small)

    def _legend(self, draw, x0, y0, x1, font):
        entries = [(c[4], c[2], False) for c in self.curves if c[4]]
        entries += [(m[4], m[2], "dot") for m in self.markers if m[4]]
        entries += [(b[4], b[3], "bar") for b in self.intervals if b[4]]
        entries += [(h[3], h[1], h[2]) for h in self.hlines if h[3]]
        if not entries:
            return
        width = max(draw.textlength(label, font=font) for label, _, _ in entries) + 34
        height = 15 * len(entries) + 6
        lx, ly = x1 - width - 6, y0 + 6
        draw.rectangle([lx, ly, lx + width, ly + height], fill=(255, 255, 255),
                       outline=(160, 160, 160))
        for i, (label, color, dash) in enumerate(entries):
            y = ly + 10 + 15 * i
            if dash == "dot":
                draw.ellipse([lx + 11, y - 4, lx + 19, y + 4], fill=color)
            elif dash == "bar":
                draw.line([lx + 15, y - 6, lx + 15, y + 6], fill=color, width=2)
                for end in (y - 6, y + 6):
                    draw.line([lx + 11, end, lx + 19, end], fill=color, width=1)
            else:
                _hline(draw, lx + 5, lx + 25, y, color, dash, 2)
            draw.text((lx + 30, y), label, fill=(0, 0, 0), font=font, anchor="lm")


def _hline(draw, xa, xb, y, color, dash, width):
    if not dash:
        draw.line([xa, y, xb, y], fill=color, width=width)
        return
    x = xa
    while x < xb:
        draw.line([x, y, min(x + 6, xb), y], fill=color, width=width)
        x += 10


def _bar(draw, x, lo, hi, py, limits, data_x, color):
    """One interval bar at pixel column x, clipped to the plot area; an open end has no cap."""
    xlo, xhi, ylo, yhi = limits
    lo_open = lo is None or not math.isfinite(lo)
    hi_open = hi is None or not math.isfinite(hi)
    if (lo_open and hi_open) or not (xlo <= data_x <= xhi) or \
            (not lo_open and not hi_open and lo > hi):
        return
    low = ylo if lo_open else min(max(lo, ylo), yhi)
    high = yhi if hi_open else min(max(hi, ylo), yhi)
    draw.line([x, py(low), x, py(high)], fill=color, width=2)
    for end, is_open, edge, toward in ((lo, lo_open, ylo, 1), (hi, hi_open, yhi, -1)):
        if is_open:  # an arrowhead at the edge: unbounded, not merely off the panel
            tip = py(edge)
            draw.polygon([(x, tip), (x - 4, tip - 7 * toward), (x + 4, tip - 7 * toward)],
                         fill=color)
        elif ylo <= end <= yhi:
            draw.line([x - 4, py(end), x + 4, py(end)], fill=color, width=1)


def _segments(xs, ys, px, py, ylo, yhi):
    """Pixel polylines, split at missing points; long curves are thinned to
    about two points per pixel column (min and max kept)."""
    segment = []
    for x, y in zip(xs, ys):
        if y is None or not math.isfinite(y):
            if segment:
                yield segment
            segment = []
            continue
        segment.append((px(x), py(min(max(y, ylo - (yhi - ylo)), yhi + (yhi - ylo)))))
    if segment:
        yield segment


def _polyline(draw, points, clip, color, width):
    x0, y0, x1, y1 = clip
    thinned, column = [], None
    for p in points:  # keep the extremes of each pixel column
        key = int(p[0])
        if column is not None and column[0] == key:
            column[1].append(p)
            continue
        if column:
            thinned.extend(_extremes(column[1]))
        column = (key, [p])
    if column:
        thinned.extend(_extremes(column[1]))
    clipped = [(min(max(x, x0), x1), min(max(y, y0), y1)) for x, y in thinned]
    if len(clipped) == 1:
        draw.point(clipped[0], fill=color)
    else:
        draw.line(clipped, fill=color, width=width, joint="curve" if width > 2 else None)


def _extremes(points):
    if len(points) <= 2:
        return points
    low = min(points, key=lambda p: p[1])
    high = max(points, key=lambda p: p[1])
    return [points[0], low, high, points[-1]] if low[0] <= high[0] else \
        [points[0], high, low, points[-1]]


class Figure:
    """A grid of panels, saved as a PNG."""

    def __init__(self, rows=1, cols=1, panel_size=(420, 300), title=""):
        self.rows, self.cols, self.panel_size, self.title = rows, cols, panel_size, title
        self.panels = {}

    def panel(self, row, col, **kwargs):
        axes = Axes(**kwargs)
        self.panels[(row, col)] = axes
        return axes

    @property
    def size(self):
        w, h = self.panel_size
        return self.cols * w, self.rows * h + (30 if self.title else 0)

    def save(self, path):
        """Draw and write the PNG atomically (temporary file, then rename)."""
        image = Image.new("RGB", self.size, (255, 255, 255))
        draw = ImageDraw.Draw(image)
        fonts = (_font(12), _font(14))
        offset = 0
        if self.title:
            draw.text((self.size[0] / 2, 8), self.title, fill=(0, 0, 0), font=_font(16),
                      anchor="ma")
            offset = 30
        w, h = self.panel_size
        for (row, col), axes in self.panels.items():
            axes.draw(draw, (col * w, offset + row * h, (col + 1) * w, offset + (row + 1) * h),
                      fonts)
        return write_atomic(path, lambda f: image.save(f, format="PNG"), mode="wb")


def ema(values, span=200):
    """Exponential moving average with α = 2/(span+1); missing values are skipped."""
    alpha, out, current = 2.0 / (span + 1), [], None
    for v in values:
        if v is not None and math.isfinite(v):
            current = v if current is None else current + alpha * (v - current)
        out.append(current)
    return out
