"""Line plots and heatmaps as PNG files, with no dependency beyond the standard library (zlib + struct).

A figure is an RGB canvas (a bytearray); text is drawn with a built-in 5x7 bitmap font for printable ASCII;
the PNG is 8-bit RGB, every row with filter type 0, in one IDAT chunk. Files are written to a temporary file
in the same directory, then renamed, so a reader never sees half a PNG.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "loss.png")
>>> layout = line_plot(path, {"train": ([0, 100, 200], [4.2, 2.5, 2.1]), "val": ([0, 200], [4.2, 2.3])},
...                    title="loss", xlabel="step", ylabel="loss")
>>> open(path, "rb").read(8) == b"\\x89PNG\\r\\n\\x1a\\n"
True
"""
import math
import struct
import zlib

from .io.atomic import atomic_write

# The 5x7 font, printable ASCII 32..126: 5 columns per glyph (2 hex digits each), bit r of a column = row r.
_FONT_HEX = (
    "0000000000" "00005f0000" "0007000700" "147f147f14" "242a7f2a12" "2313086462" "3649552250" "0005030000"
    "001c224100" "0041221c00" "082a1c2a08" "08083e0808" "0050300000" "0808080808" "0060600000" "2010080402"
    "3e5149453e" "00427f4000" "4261514946" "2141454b31" "1814127f10" "2745454539" "3c4a494930" "0171090503"
    "3649494936" "064949291e" "0036360000" "0056360000" "0814224100" "1414141414" "0041221408" "0201510906"
    "324979413e" "7e1111117e" "7f49494936" "3e41414122" "7f4141221c" "7f49494941" "7f09090101" "3e41415132"
    "7f0808087f" "00417f4100" "2040413f01" "7f08142241" "7f40404040" "7f0204027f" "7f0408107f" "3e4141413e"
    "7f09090906" "3e4151215e" "7f09192946" "4649494931" "01017f0101" "3f4040403f" "1f2040201f" "7f2018207f"
    "6314081463" "0304780403" "6151494543" "00007f4141" "0204081020" "41417f0000" "0402010204" "4040404040"
    "0001020400" "2054545478" "7f48444438" "3844444420" "384444487f" "3854545418" "087e090102" "081454543c"
    "7f08040478" "00447d4000" "2040443d00" "007f102844" "00417f4000" "7c0418047c" "7c08040478" "3844444438"
    "7c14141408" "081414147c" "7c08040408" "4854545420" "043f444020" "3c4040207c" "1c2040201c" "3c4030403c"
    "4428102844" "0c5050503c" "4464544c44" "0008364100" "00007f0000" "0041360800" "0804081008"
)
GLYPH_W, GLYPH_H = 6, 8  # a glyph's 5x7 pixels plus one column and one row of spacing

WHITE, BLACK, GREY, LIGHT = (255, 255, 255), (0, 0, 0), (110, 110, 110), (225, 225, 225)
# Matplotlib's "tab10" colours, one per series.
PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]
# Five anchors of viridis: dark purple (low) to yellow (high), brightness rising all the way.
COLORMAP = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]


def _glyph(ch):
    """The 7 rows x 5 columns of ``ch`` as a list of (row, column) pixels; '?' for anything outside ASCII."""
    code = ord(ch) if 32 <= ord(ch) <= 126 else ord("?")
    cols = bytes.fromhex(_FONT_HEX[(code - 32) * 10:(code - 31) * 10])
    return [(r, c) for c, bits in enumerate(cols) for r in range(7) if bits >> r & 1]


class Canvas:
    """An RGB image: ``pixels[3 * (y * width + x) : +3]`` is pixel (x, y), y growing downwards."""

    def __init__(self, width, height, background=WHITE):
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(background) * (width * height))

    def set(self, x, y, color):
        if 0 <= x < self.width and 0 <= y < self.height:
            i = 3 * (y * self.width + x)
            self.pixels[i:i + 3] = bytes(color)

    def get(self, x, y):
        i = 3 * (y * self.width + x)
        return tuple(self.pixels[i:i + 3])

    def fill(self, x0, y0, x1, y1, color):
        """The rectangle x0 <= x < x1, y0 <= y < y1 (clipped to the canvas)."""
        x0, x1 = max(x0, 0), min(x1, self.width)
        row = bytes(color) * max(x1 - x0, 0)
        for y in range(max(y0, 0), min(y1, self.height)):
            i = 3 * (y * self.width + x0)
            self.pixels[i:i + len(row)] = row

    def line(self, x0, y0, x1, y1, color, thickness=1):
        """A straight line (Bresenham's algorithm) of ``thickness`` pixels between two pixel centres."""
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err = dx + dy
        lo = -(thickness // 2)
        while True:
            for oy in range(lo, lo + thickness):
                for ox in range(lo, lo + thickness):
                    self.set(x0 + ox, y0 + oy, color)
            if x0 == x1 and y0 == y1:
                return
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x0 += sx
            if e2 <= dx:
                err += dx
                y0 += sy

    def text(self, x, y, s, color=BLACK, scale=1, vertical=False):
        """``s`` with its top-left corner at (x, y); vertical=True reads bottom to top (rotated 90 degrees
        anticlockwise, as a y-axis label), with (x, y) its bottom-left corner."""
        for i, ch in enumerate(s):
            for r, c in _glyph(ch):
                u, v = i * GLYPH_W + c, r  # position along and across the text
                for a in range(scale):
                    for b in range(scale):
                        if vertical:
                            self.set(x + v * scale + b, y - u * scale - a, color)
                        else:
                            self.set(x + u * scale + a, y + v * scale + b, color)

    def png(self):
        """The canvas as PNG bytes: signature, IHDR (8-bit RGB), one zlib IDAT, IEND."""
        def chunk(kind, data):
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        stride = 3 * self.width
        raw = b"".join(b"\x00" + bytes(self.pixels[y * stride:(y + 1) * stride]) for y in range(self.height))
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
                + chunk(b"IEND", b""))

    def save(self, path):
        """Writes the PNG atomically: a temporary file in the same directory, then a rename."""
        with atomic_write(path) as f:
            f.write(self.png())


def text_width(s, scale=1):
    return len(s) * GLYPH_W * scale


def _ticks(lo, hi, target=6):
    """'Nice' tick values (1, 2 or 5 times a power of ten apart) covering [lo, hi], and their step."""
    raw = (hi - lo) / target
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9)
    return [k * step for k in range(first, math.floor(hi / step + 1e-9) + 1)], step


def _label(value, step):
    """A tick label with as many decimals as the step needs: 0.25 -> "0.25", 2000 -> "2000"."""
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return f"{value:.{decimals}f}" if abs(value) < 1e6 else f"{value:.3g}"


def _range(values):
    lo, hi = min(values), max(values)
    if lo == hi:  # a flat series still gets a visible range around its value
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    return lo, hi


def line_plot(path, series, title="", xlabel="", ylabel="", width=640, height=400):
    """Draws ``series`` ({name: (xs, ys)}) as coloured lines with axes, ticks, a grid and a legend, and saves
    the PNG at ``path``. Non-finite points (a NaN loss) break the line. Returns the layout: a dict with the
    plot area ``box`` (left, top, right, bottom) in pixels, the data ranges ``x_range`` / ``y_range`` the
    box spans, and each series' ``colors``."""
    if not series:
        raise ValueError("line_plot: no series to plot")
    for name, (xs, ys) in series.items():
        if len(xs) != len(ys):
            raise ValueError(f"line_plot: series {name!r} has {len(xs)} x values but {len(ys)} y values")
    points = {name: [(float(x), float(y)) for x, y in zip(xs, ys)] for name, (xs, ys) in series.items()}
    finite = [(x, y) for p in points.values() for x, y in p if math.isfinite(x) and math.isfinite(y)]
    if not finite:
        raise ValueError("line_plot: no point with finite x and y to plot")
    x_lo, x_hi = _range([x for x, _ in finite])
    y_lo, y_hi = _range([y for _, y in finite])
    y_ticks, y_step = _ticks(y_lo, y_hi)
    x_ticks, x_step = _ticks(x_lo, x_hi)
    y_labels = [_label(t, y_step) for t in y_ticks]

    left = 14 + (GLYPH_H + 6 if ylabel else 0) + max(text_width(s) for s in y_labels)
    top = 14 + (2 * GLYPH_H + 8 if title else 0)
    right, bottom = width - 14, height - 22 - (GLYPH_H + 6 if xlabel else 0)
    if right - left < 40 or bottom - top < 40:
        raise ValueError(f"line_plot: a {width}x{height} image leaves no room for the plot")

    def px(x):
        return round(left + (x - x_lo) / (x_hi - x_lo) * (right - left))

    def py(y):
        return round(bottom - (y - y_lo) / (y_hi - y_lo) * (bottom - top))

    canvas = Canvas(width, height)
    for t, s in zip(y_ticks, y_labels):
        canvas.line(left, py(t), right, py(t), LIGHT)
        canvas.line(left - 4, py(t), left, py(t), BLACK)
        canvas.text(left - 6 - text_width(s), py(t) - 3, s, GREY)
    for t in x_ticks:
        s = _label(t, x_step)
        canvas.line(px(t), top, px(t), bottom, LIGHT)
        canvas.line(px(t), bottom, px(t), bottom + 4, BLACK)
        canvas.text(px(t) - text_width(s) // 2, bottom + 7, s, GREY)
    canvas.line(left, top, left, bottom, BLACK)
    canvas.line(left, bottom, right, bottom, BLACK)
    colors = {}
    for i, (name, pts) in enumerate(points.items()):
        color = colors[name] = PALETTE[i % len(PALETTE)]
        previous = None
        for x, y in pts:
            if not (math.isfinite(x) and math.isfinite(y)):
                previous = None
                continue
            canvas.line(*(previous or (px(x), py(y))), px(x), py(y), color, thickness=2)
            previous = (px(x), py(y))
    # The legend: a colour swatch and the name per series, in the plot's top-right corner.
    legend_w = 24 + max(text_width(str(name)) for name in points)
    for i, name in enumerate(points):
        y = top + 6 + i * (GLYPH_H + 4)
        canvas.fill(right - legend_w - 6, y - 2, right - 2, y + GLYPH_H + 2, WHITE)
        canvas.fill(right - legend_w, y + 1, right - legend_w + 16, y + 5, colors[name])
        canvas.text(right - legend_w + 20, y, str(name))
    if title:
        canvas.text((width - text_width(title, 2)) // 2, 10, title, scale=2)
    if xlabel:
        canvas.text((left + right - text_width(xlabel)) // 2, height - GLYPH_H - 6, xlabel)
    if ylabel:
        canvas.text(8, (top + bottom + text_width(ylabel)) // 2, ylabel, vertical=True)
    canvas.save(path)
    return {"box": (left, top, right, bottom), "x_range": (x_lo, x_hi), "y_range": (y_lo, y_hi),
            "colors": colors}


def colormap(t):
    """The colour of t in [0, 1] on the viridis-like scale (linear between its five anchors)."""
    t = min(max(t, 0.0), 1.0) * (len(COLORMAP) - 1)
    i = min(int(t), len(COLORMAP) - 2)
    f = t - i
    return tuple(round(a + (b - a) * f) for a, b in zip(COLORMAP[i], COLORMAP[i + 1]))


def heatmap(path, matrix, row_labels=None, col_labels=None, title="", vmin=None, vmax=None, cell=32):
    """Draws ``matrix`` (a list of rows, or anything NumPy-like with ``.tolist()``) as coloured cells of
    ``cell`` pixels, dark purple for ``vmin`` (default: the smallest value) to yellow for ``vmax`` (default:
    the largest), with row labels on the left, column labels (read bottom to top) below, and a colour scale
    on the right; saves the PNG at ``path``. Returns the layout: ``origin`` (x, y) of the top-left cell,
    ``cell`` size, ``vmin`` and ``vmax``."""
    rows = matrix.tolist() if hasattr(matrix, "tolist") else [list(r) for r in matrix]
    if not rows or not rows[0] or any(len(r) != len(rows[0]) for r in rows):
        raise ValueError("heatmap: matrix must be a non-empty rectangular list of rows")
    n_rows, n_cols = len(rows), len(rows[0])
    values = [float(v) for r in rows for v in r]
    if not all(math.isfinite(v) for v in values):
        raise ValueError("heatmap: matrix holds NaN or infinite values")
    row_labels = [str(s) for s in (row_labels if row_labels is not None else range(n_rows))]
    col_labels = [str(s) for s in (col_labels if col_labels is not None else range(n_cols))]
    if len(row_labels) != n_rows or len(col_labels) != n_cols:
        raise ValueError(f"heatmap: {len(row_labels)} row labels and {len(col_labels)} column labels for a "
                         f"{n_rows}x{n_cols} matrix")
    vmin = min(values) if vmin is None else vmin
    vmax = max(values) if vmax is None else vmax
    if vmax <= vmin:
        vmax = vmin + 1.0  # a constant matrix: every cell the low colour

    scale_labels = [f"{vmax:.3g}", f"{(vmin + vmax) / 2:.3g}", f"{vmin:.3g}"]
    left = 10 + max(text_width(s) for s in row_labels) + 6
    top = 10 + (2 * GLYPH_H + 10 if title else 0)
    grid_w, grid_h = n_cols * cell, n_rows * cell
    bar_x = left + grid_w + 16
    width = max(bar_x + 14 + 6 + max(text_width(s) for s in scale_labels) + 10, text_width(title, 2) + 20)
    height = top + grid_h + 6 + max(text_width(s) for s in col_labels) + 10

    canvas = Canvas(width, height)
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            x, y = left + j * cell, top + i * cell
            canvas.fill(x, y, x + cell, y + cell, colormap((float(v) - vmin) / (vmax - vmin)))
    for i, s in enumerate(row_labels):
        canvas.text(left - 6 - text_width(s), top + i * cell + (cell - 7) // 2, s)
    for j, s in enumerate(col_labels):
        canvas.text(left + j * cell + (cell - 7) // 2, top + grid_h + 6 + text_width(s), s, vertical=True)
    for y in range(grid_h):  # the colour scale: vmax at the top, vmin at the bottom
        canvas.fill(bar_x, top + y, bar_x + 14, top + y + 1, colormap(1 - y / max(grid_h - 1, 1)))
    for s, y in zip(scale_labels, (top, top + grid_h // 2 - 3, top + grid_h - 7)):
        canvas.text(bar_x + 20, y, s, GREY)
    if title:
        canvas.text(10, 10, title, scale=2)
    canvas.save(path)
    return {"origin": (left, top), "cell": cell, "vmin": vmin, "vmax": vmax}
