"""The mail as a customer's client shows it: the outbox HTML rendered by headless Chromium.

Runs the real pipeline in-process (the embedded runtime), takes the `.html` the SES hook wrote, and
asks Chromium for a screenshot (must not be blank) and for the DOM after parsing (the text a reader
sees: unicode intact, markup in names shown as text, the item table and the total present, no
template syntax left). `.ci/run` installs Debian's chromium; without it this test is skipped with
the reason.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from ordermail.emulator import LocalRuntime, RuntimeOptions
from tasks import names

CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium)"),
]

CUSTOMER_NAME = "Zoë Ñandú 李雷 مرحبا 🎉 <script>alert(1)</script>"
ITEMS = [
    {"name": "Café <b>bold</b> & co", "quantity": 2, "unitPrice": "18.50", "sku": "CAF-1"},
    {"name": "日本茶 (sencha)", "quantity": 1, "unitPrice": "9.90"},
]


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    # The flags keep Chromium off the (closed) network and usable as root in a container.
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)


def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit, non-interlaced RGB/RGBA PNG into rows of raw pixel bytes (standard library only)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat, header = 8, b"", None
    while position < len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind = data[position + 4:position + 8]
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    assert header is not None
    width, height, depth, color_type, _, _, interlace = header
    assert depth == 8 and interlace == 0 and color_type in (2, 6), header
    channels = 3 if color_type == 2 else 4
    stride = width * channels
    raw = zlib.decompress(idat)
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + ((left + up) >> 1)) & 0xFF
            elif kind == 4:
                upper_left = previous[i - channels] if i >= channels else 0
                estimate = left + up - upper_left
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - upper_left)
                predictor = left if pa <= pb and pa <= pc else (up if pb <= pc else upper_left)
                line[i] = (line[i] + predictor) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, rows


@pytest.fixture(scope="module")
def rendered_mail(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outbox = tmp_path_factory.mktemp("outbox")
    order = {
        "orderId": "BROWSER-1", "customerEmail": "zoe@example.com", "customerName": CUSTOMER_NAME,
        "items": ITEMS, "total": "46.90", "currency": "EUR", "timestamp": "2026-11-23T10:00:00Z",
    }
    with LocalRuntime(RuntimeOptions(outbox_dir=outbox, time_scale=0.005)) as runtime:
        runtime.client("sns").publish(
            TopicArn=runtime.outputs["OrdersTopicArn"],
            Message=json.dumps(order),
            MessageAttributes={
                names.ORDER_EVENT_TYPE_ATTRIBUTE: {"DataType": "String", "StringValue": names.ORDER_EVENT_TYPE}
            },
        )
        assert runtime.wait_idle(60)
    pages = sorted(outbox.glob("BROWSER-1-*.html"))
    assert len(pages) == 1, pages
    return pages[0]


def test_screenshot_is_not_blank(rendered_mail: Path, tmp_path: Path) -> None:
    shot = tmp_path / "mail.png"
    _chromium("--window-size=480,640", f"--screenshot={shot}", rendered_mail.as_uri(), profile=tmp_path / "profile")
    width, height, rows = _png_pixels(shot.read_bytes())
    assert (width, height) == (480, 640)
    background = rows[0][:3]
    channels = len(rows[0]) // width
    ink = sum(
        1 for row in rows for x in range(0, len(row), channels) if abs(row[x] - background[0]) > 40
    )
    distinct = {row[x:x + 3] for row in rows[::8] for x in range(0, len(row), channels * 4)}
    assert ink > width * height * 0.005, "the screenshot is (almost) blank"
    assert len(distinct) > 8, "the screenshot has (almost) no colours: nothing was drawn"


def test_reader_sees_the_order_with_unicode_intact_and_markup_as_text(rendered_mail: Path, tmp_path: Path) -> None:
    dom = _chromium("--dump-dom", rendered_mail.as_uri(), profile=tmp_path / "profile").stdout
    body = dom.split("<body", 1)[1]
    text = html.unescape(re.sub(r"<[^>]+>", " ", body))
    text = re.sub(r"\s+", " ", text)

    assert "{{" not in dom and "{%" not in dom, "template syntax left in the mail"
    assert "Zoë Ñandú 李雷 مرحبا 🎉" in text
    assert "<script>alert(1)</script>" in text, "the name's markup must be shown as text"
    assert "<script>" not in body.replace("&lt;script&gt;", ""), "the name's markup must never be a tag"
    assert "Café <b>bold</b> & co" in text
    assert "日本茶 (sencha)" in text
    assert "BROWSER-1" in text
    for figure in ("€18.50", "€37.00", "€9.90", "€46.90"):
        assert figure in text, figure
