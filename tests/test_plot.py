"""pyllm.plot's PNGs, read back with an independent decoder written here (chunk CRCs, zlib, all five PNG
filter types): sizes, the heatmap's cell colours rising with the values, curves through their points."""
import math
import os
import struct
import zlib

import numpy as np
import pytest

from pyllm import plot


def decode_png(data):
    """(width, height, rows of (r, g, b) tuples) of an 8-bit RGB or RGBA, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body), f"bad CRC in {kind}"
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    width, height, depth, color_type, _, _, interlace = header
    assert depth == 8 and color_type in (2, 6) and interlace == 0
    bpp = 3 if color_type == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    assert len(raw) == height * (stride + 1)
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            else:
                assert kind == 0, f"unknown filter type {kind}"
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(width)])
        prev = line
    return width, height, rows


def read(path):
    with open(path, "rb") as f:
        return decode_png(f.read())


def luminance(rgb):
    r, g, b = rgb
    return 0.299 * r + 0.587 * g + 0.114 * b


def test_heatmap_cell_colours_rise_with_values(tmp_path, rng):
    n_rows, n_cols = rng.integers(2, 7), rng.integers(2, 7)
    matrix = rng.random((n_rows, n_cols))
    path = tmp_path / "heat.png"
    layout = plot.heatmap(str(path), matrix, [f"r{i}" for i in range(n_rows)], [f"col{j}" for j in range(n_cols)],
                          title="attention")
    width, height, rows = read(path)
    (x0, y0), cell = layout["origin"], layout["cell"]
    assert width >= x0 + n_cols * cell and height >= y0 + n_rows * cell
    centres = {(i, j): rows[y0 + i * cell + cell // 2][x0 + j * cell + cell // 2]
               for i in range(n_rows) for j in range(n_cols)}
    order = sorted(centres, key=lambda ij: matrix[ij])
    lum = [luminance(centres[ij]) for ij in order]
    assert all(a <= b + 1e-9 for a, b in zip(lum, lum[1:])), "cell brightness does not rise with the values"
    assert lum[-1] - lum[0] > 100  # the extremes are the two ends of the scale
    # The colour scale beside the grid runs from the top colour (vmax) down to the bottom colour (vmin).
    bar = [rows[y][x0 + n_cols * cell + 20] for y in range(y0, y0 + n_rows * cell)]
    assert bar[0] == centres[order[-1]] and bar[-1] == centres[order[0]]


def test_heatmap_fixed_scale_and_errors(tmp_path, rng):
    matrix = rng.random((3, 3)) * 0.5
    layout = plot.heatmap(str(tmp_path / "h.png"), matrix, vmin=0.0, vmax=1.0, cell=10)
    _, _, rows = read(tmp_path / "h.png")
    (x0, y0) = layout["origin"]
    for i in range(3):
        for j in range(3):  # below half the scale: darker than the scale's middle colour
            assert luminance(rows[y0 + 10 * i + 5][x0 + 10 * j + 5]) < luminance(plot.colormap(0.5))
    with pytest.raises(ValueError, match="2 row labels and 3 column labels for a 3x3 matrix"):
        plot.heatmap(str(tmp_path / "x.png"), matrix, ["a", "b"])
    with pytest.raises(ValueError, match="NaN or infinite"):
        plot.heatmap(str(tmp_path / "x.png"), [[1.0, math.nan]])
    with pytest.raises(ValueError, match="rectangular"):
        plot.heatmap(str(tmp_path / "x.png"), [[1.0, 2.0], [3.0]])
    assert sorted(os.listdir(tmp_path)) == ["h.png"]  # nothing half-written is left behind


def test_line_plot_curves_pass_through_their_points(tmp_path, rng):
    xs = np.sort(rng.choice(np.arange(0, 3000), size=12, replace=False)).astype(float)
    train = 4 * np.exp(-xs / 1000) + 1.5 + 0.05 * rng.random(12)
    val = train + 0.3
    path = tmp_path / "loss.png"
    layout = plot.line_plot(str(path), {"train": (xs, train), "val": (xs[::3], val[::3])},
                            title="loss", xlabel="step", ylabel="loss", width=500, height=320)
    width, height, rows = read(path)
    assert (width, height) == (500, 320)
    left, top, right, bottom = layout["box"]
    (x_lo, x_hi), (y_lo, y_hi) = layout["x_range"], layout["y_range"]
    assert x_lo <= xs.min() and x_hi >= xs.max() and y_lo <= train.min() and y_hi >= val.max()

    def pixel(x, y):
        return (round(left + (x - x_lo) / (x_hi - x_lo) * (right - left)),
                round(bottom - (y - y_lo) / (y_hi - y_lo) * (bottom - top)))

    for name, (sx, sy) in {"train": (xs, train), "val": (xs[::3], val[::3])}.items():
        color = layout["colors"][name]
        for x, y in zip(sx, sy):
            px, py = pixel(x, y)
            near = {rows[py + dy][px + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)}
            assert color in near, f"{name} does not pass through ({x}, {y})"
        # Halfway between two points the line is there too (a straight segment between them).
        px, py = pixel((sx[0] + sx[1]) / 2, (sy[0] + sy[1]) / 2)
        assert color in {rows[py + dy][px + dx] for dy in range(-2, 3) for dx in range(-2, 3)}
    assert layout["colors"]["train"] != layout["colors"]["val"]
    # Higher losses are drawn higher up: the first (largest) train point sits above the last.
    assert pixel(xs[0], train[0])[1] < pixel(xs[-1], train[-1])[1]


def test_line_plot_skips_non_finite_points_and_checks_input(tmp_path):
    layout = plot.line_plot(str(tmp_path / "p.png"), {"loss": ([0, 1, 2, 3], [2.0, math.nan, 1.0, 0.5])})
    assert layout["y_range"][0] <= 0.5 and layout["y_range"][1] >= 2.0
    with pytest.raises(ValueError, match="series 'a' has 2 x values but 3 y values"):
        plot.line_plot(str(tmp_path / "q.png"), {"a": ([0, 1], [1, 2, 3])})
    with pytest.raises(ValueError, match="no series"):
        plot.line_plot(str(tmp_path / "q.png"), {})
    with pytest.raises(ValueError, match="no point with finite x and y"):
        plot.line_plot(str(tmp_path / "q.png"), {"a": ([0, 1], [math.nan, math.inf])})


def test_decoder_handles_every_filter_type(rng):
    """The decoder above is itself checked on a PNG encoded here with filter types 0-4 (Sub, Up, Average,
    Paeth), so a bug in it cannot hide one in pyllm.plot."""
    width, height = 7, 5
    image = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    raw, prev = b"", np.zeros(width * 3, dtype=np.int64)
    for y in range(height):
        line = image[y].reshape(-1).astype(np.int64)
        a = np.concatenate([np.zeros(3, np.int64), line[:-3]])
        c = np.concatenate([np.zeros(3, np.int64), prev[:-3]])
        kind = y % 5
        if kind == 4:
            p = a + prev - c
            pa, pb, pc = abs(p - a), abs(p - prev), abs(p - c)
            pred = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, prev, c))
        else:
            pred = [np.zeros_like(line), a, prev, (a + prev) // 2][kind]
        raw += bytes([kind]) + bytes(((line - pred) % 256).astype(np.uint8))
        prev = line

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    w, h, rows = decode_png(png)
    assert (w, h) == (width, height)
    assert np.array_equal(np.array(rows, dtype=np.uint8), image)
