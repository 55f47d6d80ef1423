"""Photos for the demo's findings: scenes of a compound drawn with Pillow and saved as a phone
camera saves them (JPEG with EXIF capture time and GPS, or no EXIF at all, as many Android
phones send). They go through the real upload and photo pipeline, so the review desk shows
derivatives made by `inspections.images` and the evidence flags it raises.

Pure: no Django, no database. Deterministic for a seed, and each scene is drawn differently
enough that no two demo photos look alike to the perceptual hash (a near-duplicate would be
flagged as a reused photo).
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from datetime import datetime

from PIL import ExifTags, Image, ImageDraw
from PIL.TiffImagePlugin import IFDRational

# A phone's 4:3 picture, small enough that seeding stays quick (the pipeline makes a 1600 px
# display copy and a 320 px thumbnail from it).
WIDTH, HEIGHT = 1600, 1200
JPEG_QUALITY = 85

Painter = Callable[[ImageDraw.ImageDraw, random.Random], None]


def _sky_and_ground(draw: ImageDraw.ImageDraw, sky: tuple, ground: tuple, horizon: int) -> None:
    for y in range(horizon):  # a vertical gradient, lighter towards the horizon
        shade = y / horizon
        draw.line(
            [(0, y), (WIDTH, y)],
            fill=tuple(int(c + (255 - c) * 0.5 * shade) for c in sky),
        )
    draw.rectangle([0, horizon, WIDTH, HEIGHT], fill=ground)


def _block(draw: ImageDraw.ImageDraw, rng: random.Random, left: int, width: int, top: int) -> None:
    """An apartment block with a grid of windows, a few of them lit."""
    bottom = 760
    wall = rng.choice([(196, 170, 140), (214, 204, 186), (170, 120, 100), (200, 200, 205)])
    draw.rectangle([left, top, left + width, bottom], fill=wall, outline=(90, 80, 70), width=3)
    for y in range(top + 30, bottom - 60, 70):
        for x in range(left + 25, left + width - 50, 80):
            lit = rng.random() < 0.15
            draw.rectangle([x, y, x + 45, y + 40], fill=(250, 226, 150) if lit else (70, 95, 120))
    door = left + width // 2
    draw.rectangle([door - 40, bottom - 90, door + 40, bottom], fill=(60, 50, 45))


def _compound(draw: ImageDraw.ImageDraw, rng: random.Random, *, blocks: int = 3) -> None:
    step = WIDTH // blocks
    for i in range(blocks):
        width = rng.randint(step // 2, step - 60)
        _block(draw, rng, i * step + rng.randint(10, 50), width, rng.randint(120, 360))


def _snow(draw: ImageDraw.ImageDraw, rng: random.Random) -> None:
    """Snow left on the compound's main path, trodden into ice."""
    _sky_and_ground(draw, (150, 160, 175), (236, 240, 245), 760)
    _compound(draw, rng)
    draw.polygon([(620, 1200), (980, 1200), (860, 760), (740, 760)], fill=(205, 215, 225))
    for _ in range(14):  # heaps and icy patches on the path
        x, y = rng.randint(660, 940), rng.randint(800, 1180)
        draw.ellipse(
            [x - 60, y - 18, x + 60, y + 18], fill=(250, 252, 255), outline=(180, 190, 205)
        )
    for _ in range(6):
        x, y = rng.randint(680, 920), rng.randint(820, 1160)
        draw.ellipse([x - 45, y - 10, x + 45, y + 10], fill=(170, 195, 215))


def _litter(draw: ImageDraw.ImageDraw, rng: random.Random) -> None:
    """Overflowing bins and rubbish bags in front of a block."""
    _sky_and_ground(draw, (90, 150, 215), (150, 150, 145), 760)
    _compound(draw, rng, blocks=2)
    for x in (300, 470):
        draw.rectangle([x, 840, x + 140, 1040], fill=(30, 110, 60), outline=(20, 60, 30), width=4)
    for _ in range(40):
        x, y = rng.randint(200, 1300), rng.randint(800, 1150)
        colour = rng.choice([(40, 40, 40), (230, 230, 230), (200, 60, 50), (60, 90, 160)])
        draw.ellipse([x - 40, y - 30, x + 40, y + 30], fill=colour)


def _car(draw: ImageDraw.ImageDraw, rng: random.Random, x: int, y: int, scale: float) -> None:
    colour = rng.choice([(200, 30, 30), (240, 240, 240), (40, 40, 40), (30, 80, 160)])
    w, h = int(300 * scale), int(110 * scale)
    draw.rectangle([x, y, x + w, y + h], fill=colour, outline=(20, 20, 20), width=3)
    draw.rectangle([x + w // 5, y - h // 2, x + 4 * w // 5, y], fill=colour, outline=(20, 20, 20))
    for wheel in (x + w // 5, x + 4 * w // 5):
        r = int(34 * scale)
        draw.ellipse([wheel - r, y + h - r, wheel + r, y + h + r], fill=(15, 15, 15))


def _parking(draw: ImageDraw.ImageDraw, rng: random.Random) -> None:
    """Cars parked on the lawn and across the fire lane (wide shot)."""
    _sky_and_ground(draw, (100, 160, 220), (110, 160, 80), 760)
    _compound(draw, rng)
    draw.rectangle([0, 1000, WIDTH, 1200], fill=(160, 160, 160))
    draw.line([(0, 1100), (WIDTH, 1100)], fill=(230, 200, 40), width=12)
    for x in range(60, 1500, 380):
        _car(draw, rng, x + rng.randint(0, 60), rng.randint(820, 1040), 0.9)


def _parking_close(draw: ImageDraw.ImageDraw, rng: random.Random) -> None:
    """A close-up: wheels on the grass, a trampled flower bed."""
    _sky_and_ground(draw, (120, 170, 225), (100, 150, 70), 420)
    for _ in range(30):
        x, y = rng.randint(0, WIDTH), rng.randint(460, 1200)
        draw.ellipse([x - 25, y - 12, x + 25, y + 12], fill=(80, 60, 40))
    _car(draw, rng, 250, 520, 3.2)


def _shed(draw: ImageDraw.ImageDraw, rng: random.Random) -> None:
    """A blue steel shed built on a roof without a permit."""
    _sky_and_ground(draw, (80, 140, 210), (120, 120, 120), 900)
    draw.rectangle([100, 420, 1500, 900], fill=(210, 195, 170), outline=(90, 80, 70), width=4)
    for x in range(160, 1450, 110):
        draw.rectangle([x, 520, x + 60, 580], fill=(70, 95, 120))
    draw.rectangle([520, 180, 1180, 420], fill=(40, 110, 190), outline=(20, 60, 110), width=5)
    for x in range(540, 1180, 40):
        draw.line([(x, 190), (x, 410)], fill=(30, 90, 160), width=4)
    draw.polygon([(500, 190), (1200, 190), (1150, 120), (550, 120)], fill=(30, 90, 160))


SCENES: dict[str, Painter] = {
    "snow": _snow,
    "litter": _litter,
    "parking": _parking,
    "parking_close": _parking_close,
    "shed": _shed,
}


def _dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    degrees = int(value)
    minutes_float = (value - degrees) * 60
    minutes = int(minutes_float)
    seconds = round((minutes_float - minutes) * 60 * 100)
    return IFDRational(degrees, 1), IFDRational(minutes, 1), IFDRational(seconds, 100)


def _exif(taken: datetime, lat: float, lon: float) -> bytes:
    """EXIF as a phone camera writes it: make, capture time with its offset, GPS."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "DemoPhone"
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.DateTimeOriginal] = taken.strftime("%Y:%m:%d %H:%M:%S")
    offset = taken.strftime("%z")  # +0800
    details[ExifTags.Base.OffsetTimeOriginal] = f"{offset[:3]}:{offset[3:]}"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = _dms(lat)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = _dms(lon)
    return exif.tobytes()


def demo_photo(scene: str, *, seed: int, taken: datetime | None, lat: float, lon: float) -> bytes:
    """The JPEG of `scene`; with `taken` it carries EXIF (that time, GPS at lat/lon), without
    it none at all."""
    image = Image.new("RGB", (WIDTH, HEIGHT))
    SCENES[scene](ImageDraw.Draw(image), random.Random(seed))  # noqa: S311 (pictures, not secrets)
    buffer = io.BytesIO()
    options = {"exif": _exif(taken, lat, lon)} if taken is not None else {}
    image.save(buffer, "JPEG", quality=JPEG_QUALITY, **options)
    return buffer.getvalue()
