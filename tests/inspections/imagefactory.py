"""Photos made in code for tests: scenes, EXIF as phones write it, and hostile byte strings."""

from __future__ import annotations

import io
import random
import struct
import zlib
from functools import cache

import pillow_heif
from PIL import ExifTags, Image, ImageDraw
from PIL.TiffImagePlugin import IFDRational

# 呼和浩特 (Hohhot), where the bureau sits: 40°49′31.02″ N, 111°39′07.2″ E, 1065.5 m.
HOHHOT_LAT_DMS = (40, 49, 31.02)
HOHHOT_LON_DMS = (111, 39, 7.2)
HOHHOT_LAT = 40.825283  # 40 + 49/60 + 31.02/3600, worked out by hand
HOHHOT_LON = 111.652  # 111 + 39/60 + 7.2/3600
HOHHOT_ALT_M = 1065.5


@cache
def _scene(width: int, height: int, seed: int) -> Image.Image:
    rng = random.Random(seed)
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1 = x0 + rng.randrange(1, max(2, width // 2))
        y1 = y0 + rng.randrange(1, max(2, height // 2))
        colour = tuple(rng.randrange(256) for _ in range(3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x0, y0, x1, y1), fill=colour)
    return image


def scene(width: int, height: int, *, seed: int = 0) -> Image.Image:
    """A deterministic picture with shapes, so that perceptual hashes mean something."""
    return _scene(width, height, seed).copy()


def halves(width: int, height: int) -> Image.Image:
    """Left half red, right half blue: shows where a rotation moved things."""
    image = Image.new("RGB", (width, height), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, width // 2, height))
    return image


def _rationals(values: tuple[float, ...]) -> tuple[IFDRational, ...]:
    return tuple(IFDRational(round(value * 100), 100) for value in values)


def exif_bytes(
    *,
    orientation: int | None = None,
    taken: str | None = None,
    offset: str | None = None,
    lat: tuple[float, float, float] | None = None,
    lat_ref: str = "N",
    lon: tuple[float, float, float] | None = None,
    lon_ref: str = "E",
    alt_m: float | None = None,
    alt_ref: int = 0,
    gps_raw: dict[int, object] | None = None,
) -> bytes:
    """EXIF as a phone camera writes it; `gps_raw` sets GPS tags verbatim (for broken ones)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestPhone"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    details = exif.get_ifd(ExifTags.IFD.Exif)
    if taken is not None:
        details[ExifTags.Base.DateTimeOriginal] = taken
    if offset is not None:
        details[ExifTags.Base.OffsetTimeOriginal] = offset
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    if lat is not None:
        gps[ExifTags.GPS.GPSLatitudeRef] = lat_ref
        gps[ExifTags.GPS.GPSLatitude] = _rationals(lat)
    if lon is not None:
        gps[ExifTags.GPS.GPSLongitudeRef] = lon_ref
        gps[ExifTags.GPS.GPSLongitude] = _rationals(lon)
    if alt_m is not None:
        gps[ExifTags.GPS.GPSAltitudeRef] = alt_ref
        gps[ExifTags.GPS.GPSAltitude] = IFDRational(round(alt_m * 10), 10)
    gps.update(gps_raw or {})
    return exif.tobytes()


def hohhot_exif(**overrides: object) -> bytes:
    fields: dict[str, object] = {
        "taken": "2024:05:01 10:11:12",
        "lat": HOHHOT_LAT_DMS,
        "lon": HOHHOT_LON_DMS,
        "alt_m": HOHHOT_ALT_M,
    }
    fields.update(overrides)
    return exif_bytes(**fields)  # type: ignore[arg-type]


def encode(image: Image.Image, image_format: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    if image_format == "HEIF":
        pillow_heif.from_pillow(image).save(buffer, quality=80, **params)
    else:
        image.save(buffer, image_format, **params)
    return buffer.getvalue()


def _png_chunk(name: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + name + body + struct.pack(">I", zlib.crc32(name + body))


def png_header_only(width: int, height: int) -> bytes:
    """A well-formed PNG announcing width×height RGB pixels, with an empty IDAT."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b""))
        + _png_chunk(b"IEND", b"")
    )


def with_jpeg_dimensions(jpeg: bytes, width: int, height: int) -> bytes:
    """The JPEG with its baseline SOF0 header rewritten to announce another size."""
    sof = jpeg.index(b"\xff\xc0")
    return jpeg[: sof + 5] + struct.pack(">HH", height, width) + jpeg[sof + 9 :]


def with_extra_scans(jpeg: bytes, count: int) -> bytes:
    """The JPEG with `count` empty scans inserted before its EOI."""
    empty_scan = b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + b"\x00"
    assert jpeg.endswith(b"\xff\xd9")
    return jpeg[:-2] + empty_scan * count + b"\xff\xd9"


def jpeg_markers(jpeg: bytes) -> list[int]:
    """The markers of a JPEG up to its first scan (where metadata segments live)."""
    markers = []
    pos = 2
    while jpeg[pos + 1] != 0xDA:
        markers.append(jpeg[pos + 1])
        pos += 2 + int.from_bytes(jpeg[pos + 2 : pos + 4], "big")
    return markers


# sRGB's colorants adapted to the D50 ICC connection space, as in the sRGB ICC profile.
SRGB_RED_XYZ = (0.4361, 0.2225, 0.0139)
SRGB_GREEN_XYZ = (0.3851, 0.7169, 0.0971)
SRGB_BLUE_XYZ = (0.1431, 0.0606, 0.7141)


def _s15f16(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz_tag(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + bytes(4) + _s15f16(x) + _s15f16(y) + _s15f16(z)


def _desc_tag(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\x00"
    body = b"desc" + bytes(4) + struct.pack(">I", len(ascii_text)) + ascii_text
    return body + bytes(4 + 4 + 2 + 1 + 67)  # empty Unicode and ScriptCode descriptions


def swapped_primaries_icc() -> bytes:
    """An ICC v2 RGB display profile whose red and green colorants are sRGB's green and red:
    pure red tagged with it is pure green in sRGB, so a conversion is visible in the pixels."""
    identity_curve = b"curv" + bytes(4) + struct.pack(">I", 0)
    tags = [
        (b"desc", _desc_tag("Swapped primaries test profile")),
        (b"wtpt", _xyz_tag(0.9642, 1.0, 0.8249)),
        (b"rXYZ", _xyz_tag(*SRGB_GREEN_XYZ)),
        (b"gXYZ", _xyz_tag(*SRGB_RED_XYZ)),
        (b"bXYZ", _xyz_tag(*SRGB_BLUE_XYZ)),
        (b"rTRC", identity_curve),
        (b"gTRC", identity_curve),
        (b"bTRC", identity_curve),
    ]
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    table, data = struct.pack(">I", len(tags)), b""
    for signature, body in tags:
        padded = body + bytes(-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += padded
    size = 128 + table_size + len(data)
    header = (
        struct.pack(">I", size)
        + bytes(4)
        + bytes((2, 0x10, 0, 0))  # version 2.1
        + b"mntrRGB XYZ "
        + bytes(12)
        + b"acsp"
        + bytes(24)
        + struct.pack(">I", 0)  # perceptual intent
        + _s15f16(0.9642)
        + _s15f16(1.0)
        + _s15f16(0.8249)
        + bytes(48)
    )
    assert len(header) == 128
    return header + table + data
