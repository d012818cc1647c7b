"""Draw the app icons (SVG and the PNGs the manifest needs) with nothing but the standard library.

Run `python docs/icons/generate.py` after changing the design and commit its output (it takes a while:
plain Python, supersampled).
"""

from __future__ import annotations

import itertools
import math
import struct
import zlib
from pathlib import Path

# Written where the web app serves them; this script lives outside web/, which is served as it is.
ICONS = Path(__file__).resolve().parents[2] / "web" / "icons"
TOP = (0x5B, 0x54, 0xE8)  # gradient from top-left ...
BOTTOM = (0x8E, 0x5C, 0xF6)  # ... to bottom-right
PULSE = [(0.18, 0.54), (0.36, 0.54), (0.44, 0.33), (0.55, 0.72), (0.63, 0.47), (0.69, 0.54), (0.82, 0.54)]
STROKE = 0.075
CORNER = 0.22  # corner radius of the rounded icon, as a share of its size
SAMPLES = 3  # supersampling per axis, for smooth edges


def _segment_distance(px: float, py: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - ax - t * dx, py - ay - t * dy)


def _inside_rounded(x: float, y: float, radius: float) -> bool:
    cx = min(max(x, radius), 1 - radius)
    cy = min(max(y, radius), 1 - radius)
    return math.hypot(x - cx, y - cy) <= radius


def _pixel(x: float, y: float, scale: float, rounded: bool) -> tuple[int, int, int, int]:
    """Colour at unit coordinates; the glyph shrinks by `scale` around the centre (maskable safe zone)."""
    if rounded and not _inside_rounded(x, y, CORNER):
        return (0, 0, 0, 0)
    gx, gy = 0.5 + (x - 0.5) / scale, 0.5 + (y - 0.5) / scale
    distance = min(_segment_distance(gx, gy, a, b) for a, b in itertools.pairwise(PULSE))
    if distance <= STROKE / 2:
        return (255, 255, 255, 255)
    t = (x + y) / 2
    return (*(round(a + (b - a) * t) for a, b in zip(TOP, BOTTOM, strict=True)), 255)


def render(size: int, *, rounded: bool, scale: float = 1.0) -> bytes:
    rows = []
    for py in range(size):
        row = bytearray([0])  # PNG filter type 0 for each scanline
        for px in range(size):
            total = [0, 0, 0, 0]
            for sy in range(SAMPLES):
                for sx in range(SAMPLES):
                    r, g, b, a = _pixel(
                        (px + (sx + 0.5) / SAMPLES) / size, (py + (sy + 0.5) / SAMPLES) / size, scale, rounded
                    )
                    total[0] += r * a
                    total[1] += g * a
                    total[2] += b * a
                    total[3] += a
            alpha = total[3]
            row += bytes([round(total[i] / alpha) if alpha else 0 for i in range(3)] + [round(alpha / SAMPLES**2)])
        rows.append(bytes(row))
    return png(size, b"".join(rows))


def png(size: int, raw: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def svg() -> str:
    points = " ".join(f"{x * 512:g},{y * 512:g}" for x, y in PULSE)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">'
        '<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="#{"".join(f"{c:02x}" for c in TOP)}"/>'
        f'<stop offset="1" stop-color="#{"".join(f"{c:02x}" for c in BOTTOM)}"/></linearGradient></defs>'
        f'<rect width="512" height="512" rx="{CORNER * 512:g}" fill="url(#g)"/>'
        f'<polyline points="{points}" fill="none" stroke="#fff" stroke-width="{STROKE * 512:g}" '
        'stroke-linecap="round" stroke-linejoin="round"/></svg>\n'
    )


def outputs() -> dict[str, bytes]:
    return {
        "icon.svg": svg().encode(),
        "icon-192.png": render(192, rounded=True),
        "icon-512.png": render(512, rounded=True),
        "icon-maskable-512.png": render(512, rounded=False, scale=0.8),
    }


if __name__ == "__main__":
    for name, data in outputs().items():
        (ICONS / name).write_bytes(data)
        print(f"wrote {ICONS / name} ({len(data)} bytes)")
