"""Photo pipeline: untrusted upload bytes → validated image, derivatives and evidence.

Pure: bytes in, frozen dataclasses out. No Django, no ORM, no storage, and never a file name
or a client-declared content type: only the bytes decide what a photo is.

`analyse_photo` either returns a `ProcessedPhoto` or raises `PhotoRejected` with one of the
stable `RejectionCode`s; no other exception escapes for any input.

Order of checks, cheapest and most telling first:
1. empty → `empty_file`; magic numbers (`sniff_format`) → JPEG/PNG/WebP/HEIF, otherwise
   `unsupported_format` for an image Pillow recognises (GIF, TIFF, …) or `not_an_image`;
2. header only (Pillow's `open` decodes no pixels) → `decompression_bomb` above `max_pixels`;
3. container walk (JPEG markers, PNG chunks, RIFF size, ISO-BMFF boxes) → `truncated` when the
   bytes stop before the image's logical end, `polyglot` when other bytes follow it;
4. decode (JPEG at a reduced DCT scale when the display size allows) → `corrupt` on any error.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import struct
import warnings
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import imagehash
import numpy as np
import pillow_heif
from PIL import ExifTags, Image, ImageCms

# We only ever decode the primary image: thumbnails, depth maps and auxiliary images stored in
# a HEIC would be parsed for nothing.
pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)

DEFAULT_MAX_PIXELS = 64_000_000
# Review screens show the photo at most about 1600 px wide (a 1920 px monitor minus chrome),
# and 1600 px keeps the display JPEG around 200–400 KB for inspectors on 3G.
DISPLAY_MAX_SIDE = 1600
# Queue and list cells are 160 CSS px; 320 px covers 2× (HiDPI) screens.
THUMBNAIL_MAX_SIDE = 320
# 82: cracks, stains and signage stay legible at review size; above ~85 the file grows fast for
# no visible gain, below ~75 blocking shows on fine detail that is the evidence.
DISPLAY_JPEG_QUALITY = 82
# 75: thumbnails only help recognise a photo in a list; every byte counts on 2G/3G.
THUMBNAIL_JPEG_QUALITY = 75
# Downscaling works like JPEG draft decoding: first an integer box reduction (the largest whole
# factor, `reducing_gap=1`), then area averaging (Box, OpenCV's INTER_AREA) for the remaining
# step, which is then under 2× and on phone photos mostly under 1.25×. At such small ratios Box
# keeps text and fine cracks crisper than Hamming or Lanczos, which soften them by a pixel, and
# costs a third less than Hamming; Lanczos alone would cost as much as the whole JPEG decode.
_RESAMPLING = Image.Resampling.BOX
_REDUCING_GAP = 1.0
# Bytes the upload endpoint should pass to `sniff_format`: the longest signature we read is a
# HEIF `ftyp` box with its list of compatible brands.
SNIFF_HEAD_BYTES = 64
# Trailing NUL bytes after the image's end are tolerated: some camera firmwares and transfer
# tools pad files to a 512-byte sector or 4 KiB page, and zeros carry no payload.
TRAILING_PADDING_MAX = 4096
# Each scan of a progressive JPEG makes libjpeg walk every block of the image, so thousands of
# tiny scans are a CPU bomb in a small file. Encoders write about 10; libjpeg-turbo's own fuzz
# targets cap untrusted input at 500 (TJPARAM_SCANLIMIT).
JPEG_MAX_SCANS = 500

# Phash is 64 bits. Measured on generated scenes (see tests): re-encoding, format changes and
# halving the size move ≤ 2 bits, +15 % brightness ≤ 6, cropping 2.5 % off each side 4–10;
# distinct scenes stay ≥ 16 apart (median 30), and two independent uniform hashes fall within
# 8 bits with probability ~3e-10. A near duplicate only flags a photo for a reviewer.
NEAR_DUPLICATE_MAX_DISTANCE = 8
# Photos are taken at the compound shortly before the finding is recorded, but an inspector may
# record findings in the evening; 24 h also absorbs a camera clock left on UTC (8 h off) while
# catching a photo from another day's patrol.
CAPTURE_TIME_TOLERANCE = timedelta(hours=24)
# IUGG mean Earth radius; haversine on a sphere errs by < 0.5 % against WGS-84, far below
# phone GPS accuracy at geofence distances.
EARTH_RADIUS_M = 6_371_008.8
# Cameras record local wall time without a zone unless they also write OffsetTimeOriginal; our
# inspectors work in Inner Mongolia, which keeps Beijing time.
ASSUMED_CAMERA_TZ = ZoneInfo("Asia/Shanghai")

FLAG_GPS_FAR_FROM_PROJECT = "gps_far_from_project"
FLAG_CAPTURE_TIME_MISMATCH = "capture_time_mismatch"
FLAG_REUSED_PHOTO = "reused_photo"
FLAG_NO_EXIF = "no_exif"


class RejectionCode(StrEnum):
    EMPTY_FILE = "empty_file"
    NOT_AN_IMAGE = "not_an_image"
    UNSUPPORTED_FORMAT = "unsupported_format"
    DECOMPRESSION_BOMB = "decompression_bomb"
    TRUNCATED = "truncated"
    POLYGLOT = "polyglot"
    CORRUPT = "corrupt"


EMPTY_FILE_DETAIL = "the file is empty"
NOT_AN_IMAGE_DETAIL = "the bytes are not a JPEG, PNG, WebP or HEIC/HEIF image"
UNSUPPORTED_FORMAT_DETAIL = "{name} is not accepted; send JPEG, PNG, WebP or HEIC/HEIF"
UNKNOWN_FORMAT_NAME = "this image format"
TOO_MANY_PIXELS_DETAIL = "{width}×{height} pixels exceeds the limit of {limit} pixels"
PILLOW_BOMB_DETAIL = "the header announces more pixels than the decoder allows"
TOO_MANY_SCANS_DETAIL = "the JPEG has more than {limit} progressive scans"
TRUNCATED_DETAIL = "the {format} data ends before the image does"
TRAILING_DATA_DETAIL = "{count} bytes follow the end of the {format} image"
BAD_JPEG_MARKER_DETAIL = "invalid JPEG marker structure at byte {offset}"
BAD_PNG_CHUNK_DETAIL = "PNG chunk {name!r} at byte {offset} is damaged"
BAD_HEIF_BOX_DETAIL = "invalid HEIF box at byte {offset}"
BAD_MPO_DETAIL = "the JPEG's multi-picture index points at overlapping or invalid data"
UNDECODABLE_DETAIL = "the {format} image cannot be decoded: {error}"
INVALID_PHASH = "a perceptual hash is 16 hexadecimal characters, got {value!r}"
NAIVE_DATETIME = "capture_time and observed_at must be timezone-aware"


class PhotoRejected(Exception):
    def __init__(self, code: RejectionCode, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Derivative:
    """A metadata-free baseline JPEG derived from the photo."""

    jpeg: bytes
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class ProcessedPhoto:
    detected_format: str  # "jpeg" | "png" | "webp" | "heif", from the bytes
    original_width: int  # as displayed, i.e. after the EXIF orientation is applied
    original_height: int
    sha256: str  # lowercase hex of the original bytes
    has_exif: bool
    capture_time: datetime | None  # aware; EXIF DateTimeOriginal (+ OffsetTimeOriginal)
    gps_lat: float | None  # WGS-84 decimal degrees, north positive
    gps_lon: float | None  # east positive
    gps_alt_m: float | None  # metres above sea level, only when lat/lon are known
    phash: str  # 16 hex chars, imagehash.phash of the oriented image
    display: Derivative
    thumbnail: Derivative


# Everything Pillow, its format plugins and pillow-heif raise on hostile bytes. Pillow documents
# OSError (incl. UnidentifiedImageError) and DecompressionBombError; its parsers also leak the
# rest (struct unpacking, zlib streams, table look-ups, divisions by header fields), and libheif
# errors arrive as RuntimeError/ValueError. MemoryError is deliberately absent: it is the
# process's problem, not the photo's.
_DECODER_ERRORS: tuple[type[BaseException], ...] = (
    Image.DecompressionBombError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    zlib.error,
    IndexError,
    KeyError,
    TypeError,
    ArithmeticError,
    RuntimeError,
    AttributeError,
)

_PILLOW_FORMAT = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "heif": "HEIF"}
# Formats with an unambiguous signature that a phone or photo editor could produce: bytes in
# one of these are an image we refuse (`unsupported_format`); anything else is `not_an_image`.
# Signature-less or script-like formats (TGA, PPM, EPS, XPM, …) are left out on purpose.
_RECOGNISED_OTHER_FORMATS = (
    "AVIF",
    "BMP",
    "DDS",
    "GIF",
    "ICNS",
    "ICO",
    "JPEG2000",
    "PSD",
    "QOI",
    "TIFF",
)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_HEVC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_GENERIC_HEIF_BRANDS = {b"mif1", b"msf1"}
_AV1_BRANDS = {b"avif", b"avis"}
# A box type is four letters, digits or spaces; fewer when the file stops inside the header.
_BOX_TYPE = re.compile(rb"[A-Za-z0-9 ]{0,4}")

_JPEG_SOI = 0xD8
_JPEG_EOI = 0xD9
_JPEG_SOS = 0xDA
# Markers without a length field: TEM and the eight restart markers.
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}
# Inside a scan 0xFF is followed by a stuffed 0x00, a restart marker or more 0xFF fill bytes;
# any other byte after 0xFF starts the next marker. (The regex engine scans a 5 MB photo in ~3 ms,
# twice as fast as a bytes.find loop.)
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")

_TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SIDEWAYS_ORIENTATIONS = {5, 6, 7, 8}

_EXIF_DATETIME = re.compile(r"(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")
_PHASH_HEX = re.compile(r"[0-9a-fA-F]{16}")
_SRGB = ImageCms.createProfile("sRGB")


# --- sniffing -------------------------------------------------------------------------------


def sniff_format(head: bytes) -> str | None:
    """The accepted format announced by the first bytes (`SNIFF_HEAD_BYTES` suffice), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(_PNG_SIGNATURE):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp" and _is_hevc_heif(head):
        return "heif"
    return None


def _is_hevc_heif(head: bytes) -> bool:
    box_end = min(int.from_bytes(head[:4], "big"), len(head))
    major = head[8:12]
    brands = {major} | {head[i : i + 4] for i in range(16, box_end - 3, 4)}
    if brands & _HEVC_BRANDS:
        return True
    # A generic HEIF brand without an HEVC one may still be HEVC inside, but an AV1 brand
    # means AVIF, which our decoder build cannot read.
    return major in _GENERIC_HEIF_BRANDS and not brands & _AV1_BRANDS


# --- the pipeline ---------------------------------------------------------------------------


def analyse_photo(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> ProcessedPhoto:
    """Validate an uploaded photo and derive what the service keeps and shows from it."""
    if not data:
        raise PhotoRejected(RejectionCode.EMPTY_FILE, EMPTY_FILE_DETAIL)
    detected = sniff_format(data[:SNIFF_HEAD_BYTES])
    if detected is None:
        raise _rejection_for_unrecognised(data)
    # Pillow's warnings (DecompressionBombWarning, "Corrupt EXIF data", …) describe conditions we
    # handle ourselves; a caller running with -W error must not turn them into crashes.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        image = _open(data, detected)
        _refuse_too_many_pixels(image.size, max_pixels)
        _refuse_trailing_data(data, _logical_end(data, detected, image), detected)
        return _process(image, data, detected)


def _rejection_for_unrecognised(data: bytes) -> PhotoRejected:
    try:
        with Image.open(io.BytesIO(data), formats=_RECOGNISED_OTHER_FORMATS) as other:
            name = other.format or UNKNOWN_FORMAT_NAME
    except Image.DecompressionBombError:
        name = UNKNOWN_FORMAT_NAME
    except _DECODER_ERRORS:
        return PhotoRejected(RejectionCode.NOT_AN_IMAGE, NOT_AN_IMAGE_DETAIL)
    return PhotoRejected(
        RejectionCode.UNSUPPORTED_FORMAT, UNSUPPORTED_FORMAT_DETAIL.format(name=name)
    )


def _open(data: bytes, detected: str) -> Image.Image:
    """Parse the header only; Pillow decodes no pixels until `load()`."""
    try:
        return Image.open(io.BytesIO(data), formats=[_PILLOW_FORMAT[detected]])
    except Image.DecompressionBombError as error:
        raise PhotoRejected(RejectionCode.DECOMPRESSION_BOMB, PILLOW_BOMB_DETAIL) from error
    except _DECODER_ERRORS as error:
        # A header the decoder cannot parse is most often a cut-off file: say so when the
        # container walk agrees, otherwise the bytes are simply damaged.
        _stream_end(data, detected)
        raise _undecodable(detected, error) from error


def _undecodable(detected: str, error: BaseException) -> PhotoRejected:
    message = str(error) or type(error).__name__
    if "truncated" in message:
        return PhotoRejected(RejectionCode.TRUNCATED, TRUNCATED_DETAIL.format(format=detected))
    return PhotoRejected(
        RejectionCode.CORRUPT, UNDECODABLE_DETAIL.format(format=detected, error=message)
    )


def _refuse_too_many_pixels(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width * height > max_pixels:
        raise PhotoRejected(
            RejectionCode.DECOMPRESSION_BOMB,
            TOO_MANY_PIXELS_DETAIL.format(width=width, height=height, limit=max_pixels),
        )


def _refuse_trailing_data(data: bytes, end: int, detected: str, stop: int | None = None) -> None:
    """Only padding may sit between the image's end and `stop` (the end of the file)."""
    stop = len(data) if stop is None else stop
    count = stop - end
    if count > TRAILING_PADDING_MAX or (count > 0 and data[end:stop].strip(b"\x00")):
        raise PhotoRejected(
            RejectionCode.POLYGLOT, TRAILING_DATA_DETAIL.format(count=count, format=detected)
        )


# --- container walks: where does the image end? ----------------------------------------------


def _logical_end(data: bytes, detected: str, image: Image.Image) -> int:
    end = _stream_end(data, detected)
    if image.format == "MPO":
        end = _mpo_end(data, image, end)
    return end


def _stream_end(data: bytes, detected: str) -> int:
    if detected == "jpeg":
        return _jpeg_end(data, 0)
    if detected == "png":
        return _png_end(data)
    if detected == "webp":
        return _webp_end(data)
    return _heif_end(data)


def _truncated(detected: str) -> PhotoRejected:
    return PhotoRejected(RejectionCode.TRUNCATED, TRUNCATED_DETAIL.format(format=detected))


def _jpeg_end(data: bytes, start: int) -> int:
    """Offset just past the EOI of the JPEG stream starting at `start` (walks the markers)."""
    size = len(data)
    if data[start : start + 2] != b"\xff\xd8":
        raise PhotoRejected(RejectionCode.CORRUPT, BAD_JPEG_MARKER_DETAIL.format(offset=start))
    pos = start + 2
    scans = 0
    while True:
        if pos >= size:
            raise _truncated("jpeg")
        if data[pos] != 0xFF:
            raise PhotoRejected(RejectionCode.CORRUPT, BAD_JPEG_MARKER_DETAIL.format(offset=pos))
        while pos < size and data[pos] == 0xFF:  # fill bytes may precede any marker
            pos += 1
        if pos >= size:
            raise _truncated("jpeg")
        marker = data[pos]
        pos += 1
        if marker == _JPEG_EOI:
            return pos
        if marker in _JPEG_STANDALONE:
            continue
        if marker in (0x00, _JPEG_SOI):
            raise PhotoRejected(
                RejectionCode.CORRUPT, BAD_JPEG_MARKER_DETAIL.format(offset=pos - 1)
            )
        if pos + 2 > size:
            raise _truncated("jpeg")
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2:
            raise PhotoRejected(RejectionCode.CORRUPT, BAD_JPEG_MARKER_DETAIL.format(offset=pos))
        pos += length
        if pos > size:
            raise _truncated("jpeg")
        if marker == _JPEG_SOS:
            scans += 1
            if scans > JPEG_MAX_SCANS:
                raise PhotoRejected(
                    RejectionCode.DECOMPRESSION_BOMB,
                    TOO_MANY_SCANS_DETAIL.format(limit=JPEG_MAX_SCANS),
                )
            pos = _entropy_coded_end(data, pos)


def _entropy_coded_end(data: bytes, pos: int) -> int:
    """Offset of the first marker after entropy-coded data, which starts at `pos`."""
    found = _NEXT_MARKER.search(data, pos)
    if found is None:
        raise _truncated("jpeg")
    return found.start()


def _mpo_end(data: bytes, image: Image.Image, first_end: int) -> int:
    """A multi-picture JPEG (gain maps, stereo pairs) stores further JPEGs after the first EOI,
    listed in its MP index. Each must be a whole JPEG; only padding may sit between them."""
    base = _mp_index_base(data)
    if base is None:
        raise PhotoRejected(RejectionCode.CORRUPT, BAD_MPO_DETAIL)
    try:
        starts = sorted(entry["DataOffset"] + base for entry in image.mpinfo[0xB002][1:])
    except (AttributeError, KeyError, TypeError) as error:
        raise PhotoRejected(RejectionCode.CORRUPT, BAD_MPO_DETAIL) from error
    end = first_end
    for start in starts:
        if start < end:
            raise PhotoRejected(RejectionCode.CORRUPT, BAD_MPO_DETAIL)
        _refuse_trailing_data(data, end, "jpeg", stop=start)
        end = _jpeg_end(data, start)
    return end


def _mp_index_base(data: bytes) -> int | None:
    """Where MP index offsets count from: just after "MPF\0" in the APP2 segment (CIPA DC-007)."""
    pos = 2
    while pos + 8 <= len(data) and data[pos] == 0xFF and data[pos + 1] != _JPEG_SOS:
        if data[pos + 1] == 0xE2 and data[pos + 4 : pos + 8] == b"MPF\x00":
            return pos + 8
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return None


def _png_end(data: bytes) -> int:
    """Offset just past the IEND chunk. Critical chunks (upper-case first letter) must carry a
    correct CRC, as libpng requires; ancillary ones are not checked, as libpng only warns."""
    view = memoryview(data)
    size = len(data)
    pos = len(_PNG_SIGNATURE)
    while True:
        if pos + 8 > size:
            raise _truncated("png")
        length, name = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if end > size:
            raise _truncated("png")
        crc = int.from_bytes(data[end - 4 : end], "big")
        if name[:1].isupper() and zlib.crc32(view[pos + 4 : end - 4]) != crc:
            raise PhotoRejected(
                RejectionCode.CORRUPT, BAD_PNG_CHUNK_DETAIL.format(name=name, offset=pos)
            )
        pos = end
        if name == b"IEND":
            return pos


def _webp_end(data: bytes) -> int:
    end = 8 + int.from_bytes(data[4:8], "little")  # RIFF size counts the bytes after itself
    if end > len(data):
        raise _truncated("webp")
    return end


def _heif_end(data: bytes) -> int:
    """Offset just past the last top-level ISO-BMFF box.

    Bytes that do not look like a box header (zeros, an appended `<script>`) end the walk and
    are judged as trailing data; a header cut short means the file is truncated.
    """
    size = len(data)
    pos = 0
    while pos < size:
        if not data[pos : pos + 8].strip(b"\x00") or not _BOX_TYPE.fullmatch(
            data[pos + 4 : pos + 8]
        ):
            return pos
        if pos + 8 > size:  # the file stops inside a box header
            raise _truncated("heif")
        box_size = int.from_bytes(data[pos : pos + 4], "big")
        header = 8
        if box_size == 1:  # 64-bit size follows the type
            if pos + 16 > size:
                raise _truncated("heif")
            box_size = int.from_bytes(data[pos + 8 : pos + 16], "big")
            header = 16
        elif box_size == 0:  # the box runs to the end of the file
            return size
        if box_size < header:
            raise PhotoRejected(RejectionCode.CORRUPT, BAD_HEIF_BOX_DETAIL.format(offset=pos))
        if pos + box_size > size:
            raise _truncated("heif")
        if data[pos + 4 : pos + 8] == b"meta":
            _refuse_items_beyond_the_file(data, pos + header, pos + box_size)
        pos += box_size
    return pos


def _refuse_items_beyond_the_file(data: bytes, start: int, stop: int) -> None:
    """A HEIF cut between its `meta` and `mdat` boxes is well-formed box by box; only the item
    locations (`iloc`) say where the picture's bytes are. libheif does not always notice that
    they lie past the end of its buffer (it has decoded such a file from stale memory), so the
    extents are checked here before any decoder sees them.
    """
    pos = start + 4  # `meta` is a full box: version and flags come first
    while pos + 8 <= stop:
        box_size = int.from_bytes(data[pos : pos + 4], "big")
        if box_size < 8 or pos + box_size > stop:
            raise PhotoRejected(RejectionCode.CORRUPT, BAD_HEIF_BOX_DETAIL.format(offset=pos))
        if data[pos + 4 : pos + 8] == b"iloc":
            if _item_data_end(data, pos + 8, pos + box_size) > len(data):
                raise _truncated("heif")
            return
        pos += box_size


def _item_data_end(data: bytes, start: int, stop: int) -> int:
    """The furthest file offset an `iloc` extent stored in the file itself reaches
    (ISO/IEC 14496-12 §8.11.3); extents in `idat` live inside `meta`, already bounded."""
    reader = _BoxReader(data, start, stop)
    version = reader.integer(1)
    reader.integer(3)  # flags
    offset_size, length_size = reader.nibbles()
    base_offset_size, index_size = reader.nibbles()
    if version not in (1, 2):
        index_size = 0
    item_count = reader.integer(4 if version == 2 else 2)
    furthest = 0
    for _ in range(item_count):
        reader.integer(4 if version == 2 else 2)  # item_ID
        construction_method = reader.integer(2) & 0x0F if version in (1, 2) else 0
        reader.integer(2)  # data_reference_index
        base_offset = reader.integer(base_offset_size)
        for _ in range(reader.integer(2)):
            reader.integer(index_size)
            offset = reader.integer(offset_size)
            length = reader.integer(length_size)
            if construction_method == 0:
                # A zero length means "to the end of the file", which is always inside it.
                furthest = max(furthest, base_offset + offset + length)
    return furthest


class _BoxReader:
    """Big-endian fields read off one box; running past the box is a corrupt file."""

    def __init__(self, data: bytes, pos: int, stop: int) -> None:
        self._data, self._pos, self._stop = data, pos, stop

    def integer(self, width: int) -> int:
        if self._pos + width > self._stop:
            raise PhotoRejected(RejectionCode.CORRUPT, BAD_HEIF_BOX_DETAIL.format(offset=self._pos))
        value = int.from_bytes(self._data[self._pos : self._pos + width], "big")
        self._pos += width
        return value

    def nibbles(self) -> tuple[int, int]:
        byte = self.integer(1)
        return byte >> 4, byte & 0x0F


# --- decoding and derivatives ----------------------------------------------------------------


def _process(image: Image.Image, data: bytes, detected: str) -> ProcessedPhoto:
    stored_size = image.size
    display_size = _fit(stored_size, DISPLAY_MAX_SIDE)
    try:
        if image.format in ("JPEG", "MPO"):
            # Let libjpeg scale the DCT by 1/2, 1/4 or 1/8, never below the display size: the
            # IDCT, upsampling and colour conversion shrink with the scale (entropy decoding,
            # the larger part for phone JPEGs, does not). Truncation is caught by our walk.
            image.draft("RGB", display_size)
        image.load()
    except _DECODER_ERRORS as error:
        raise _undecodable(detected, error) from error
    try:
        exif = _read_exif(image)
        orientation = _orientation(exif)
        icc_profile = image.info.get("icc_profile")
        display_image = _oriented(_resized(_to_rgb(image), display_size), orientation)
        display_image = _to_srgb(display_image, icc_profile)
        thumbnail_image = _resized(display_image, _fit(display_image.size, THUMBNAIL_MAX_SIDE))
        original_width, original_height = _oriented_size(stored_size, orientation)
        gps_lat, gps_lon, gps_alt_m = _gps_position(exif)
        return ProcessedPhoto(
            detected_format=detected,
            original_width=original_width,
            original_height=original_height,
            sha256=hashlib.sha256(data).hexdigest(),
            has_exif=len(exif) > 0,
            capture_time=_capture_time(exif),
            gps_lat=gps_lat,
            gps_lon=gps_lon,
            gps_alt_m=gps_alt_m,
            # The thumbnail carries everything phash looks at (a 32×32 luminance DCT) and is
            # ~25× cheaper to hash than the display image.
            phash=str(imagehash.phash(thumbnail_image)),
            display=_jpeg_derivative(display_image, DISPLAY_JPEG_QUALITY),
            thumbnail=_jpeg_derivative(thumbnail_image, THUMBNAIL_JPEG_QUALITY),
        )
    except _DECODER_ERRORS as error:
        raise _undecodable(detected, error) from error


def _fit(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """The size with the long side at most `max_side`, aspect kept, never upscaled."""
    width, height = size
    long_side = max(width, height)
    if long_side <= max_side:
        return size
    scale = max_side / long_side
    return (
        max_side if width == long_side else max(1, round(width * scale)),
        max_side if height == long_side else max(1, round(height * scale)),
    )


def _resized(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image
    return image.resize(size, _RESAMPLING, reducing_gap=_REDUCING_GAP)


def _oriented(image: Image.Image, orientation: int) -> Image.Image:
    """Apply the EXIF orientation, as `ImageOps.exif_transpose` would, with its table.

    We transpose ourselves because exif_transpose re-serialises EXIF we discard anyway, and that
    can raise on malformed EXIF, which must not cost a valid photo.
    """
    method = _TRANSPOSE_FOR_ORIENTATION.get(orientation)
    return image if method is None else image.transpose(method)


def _oriented_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    width, height = size
    return (height, width) if orientation in _SIDEWAYS_ORIENTATIONS else (width, height)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        image = _sixteen_bit_to_grey(image)
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        # Photos with transparency are screenshots or edits; white reads best in review.
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return image if image.mode == "RGB" else image.convert("RGB")


def _sixteen_bit_to_grey(image: Image.Image) -> Image.Image:
    """Scale 16-bit grey to 8 bits; Pillow's own conversion clips everything above 255."""
    levels = np.clip(np.asarray(image).astype(np.int64), 0, 0xFFFF) >> 8
    return Image.fromarray(levels.astype(np.uint8))


def _to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Convert from an embedded RGB profile (iPhones use Display P3) to sRGB, which is what
    browsers assume once the profile is stripped. A broken or non-RGB profile is dropped."""
    transform = _transform_to_srgb(icc_profile) if icc_profile else None
    if transform is None:
        return image
    try:
        return ImageCms.applyTransform(image, transform)
    except ImageCms.PyCMSError:
        return image


@lru_cache(maxsize=16)  # phones embed a handful of distinct profiles
def _transform_to_srgb(icc_profile: bytes) -> ImageCms.ImageCmsTransform | None:
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        if profile.profile.xcolor_space.strip() != "RGB":
            return None
        if "sRGB" in ImageCms.getProfileDescription(profile):
            return None
        return ImageCms.buildTransform(profile, _SRGB, "RGB", "RGB")
    except (ImageCms.PyCMSError, OSError, TypeError, ValueError):
        return None


def _jpeg_derivative(image: Image.Image, quality: int) -> Derivative:
    # Pillow copies a JPEG comment from `info` into the output; everything the original said
    # about itself (EXIF, GPS, XMP, ICC, comments) must stay out of what we show.
    image.info = {}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Derivative(jpeg=buffer.getvalue(), width=image.width, height=image.height)


# --- evidence from EXIF ----------------------------------------------------------------------


def _read_exif(image: Image.Image) -> Image.Exif:
    """The photo's EXIF, or an empty one when it is malformed: EXIF is evidence, not a
    condition for accepting a photo."""
    try:
        exif = image.getexif()
        exif.get_ifd(ExifTags.IFD.Exif)
        exif.get_ifd(ExifTags.IFD.GPSInfo)
    except _DECODER_ERRORS:
        return Image.Exif()
    return exif


def _orientation(exif: Image.Exif) -> int:
    value = exif.get(ExifTags.Base.Orientation, 1)
    return value if isinstance(value, int) else 1


def _exif_text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    return value.strip("\x00 ")


def _capture_time(exif: Image.Exif) -> datetime | None:
    tags = exif.get_ifd(ExifTags.IFD.Exif)
    match = _EXIF_DATETIME.fullmatch(_exif_text(tags.get(ExifTags.Base.DateTimeOriginal)) or "")
    if match is None:
        return None  # absent, or the "0000:00:00 00:00:00" some cameras write without a clock
    try:
        local = datetime(*(int(part) for part in match.groups()))
    except ValueError:
        return None
    offset = _utc_offset(tags.get(ExifTags.Base.OffsetTimeOriginal))
    return local.replace(tzinfo=offset if offset is not None else ASSUMED_CAMERA_TZ)


def _utc_offset(value: Any) -> timezone | None:
    match = _EXIF_OFFSET.fullmatch(_exif_text(value) or "")
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    if delta > timedelta(hours=14) or int(minutes) >= 60:  # UTC−12 … UTC+14 exist
        return None
    return timezone(-delta if sign == "-" else delta)


def _gps_position(exif: Image.Exif) -> tuple[float | None, float | None, float | None]:
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    lat = _signed_degrees(
        gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "N", "S", 90
    )
    lon = _signed_degrees(
        gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "E", "W", 180
    )
    # 0/0 is what devices without a fix write; no compound lies in the Gulf of Guinea.
    if lat is None or lon is None or (lat == 0 and lon == 0):
        return None, None, None
    return (
        lat,
        lon,
        _altitude(gps.get(ExifTags.GPS.GPSAltitude), gps.get(ExifTags.GPS.GPSAltitudeRef)),
    )


def _signed_degrees(
    value: Any, ref: Any, positive: str, negative: str, limit: float
) -> float | None:
    """EXIF (degrees, minutes, seconds) rationals plus an N/S or E/W reference → signed float."""
    if not isinstance(value, tuple) or len(value) != 3:
        return None
    try:
        degrees, minutes, seconds = (float(part) for part in value)
    except (TypeError, ValueError, ArithmeticError):
        return None
    parts = (degrees, minutes, seconds)
    if not all(math.isfinite(part) and part >= 0 for part in parts) or max(minutes, seconds) >= 60:
        return None
    magnitude = degrees + minutes / 60 + seconds / 3600
    if magnitude > limit:
        return None
    direction = (_exif_text(ref) or "").upper()
    if direction == positive:
        return magnitude
    if direction == negative:
        return -magnitude
    return None  # without the reference the hemisphere is unknown


def _altitude(value: Any, ref: Any) -> float | None:
    try:
        metres = float(value)
    except (TypeError, ValueError, ArithmeticError):
        return None
    if not math.isfinite(metres):
        return None
    below_sea_level = ref in (1, b"\x01")
    return -metres if below_sea_level else metres


# --- plausibility ----------------------------------------------------------------------------


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS-84 points (spherical Earth)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = math.radians(lon2 - lon1) / 2
    a = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def phash_distance(a_hex: str, b_hex: str) -> int:
    """Hamming distance between two 64-bit perceptual hashes given as 16 hex characters."""
    for value in (a_hex, b_hex):
        if not _PHASH_HEX.fullmatch(value):
            raise ValueError(INVALID_PHASH.format(value=value))
    return (int(a_hex, 16) ^ int(b_hex, 16)).bit_count()


def evidence_flags(
    *,
    evidence_lat: float | None,
    evidence_lon: float | None,
    project_lat: float | None,
    project_lon: float | None,
    geofence_m: float,
    accuracy_m: float | None,
    capture_time: datetime | None,
    observed_at: datetime | None,
    has_exif: bool,
    reused: bool,
) -> list[str]:
    """Reasons for a reviewer to look twice at a photo, sorted; none of them rejects it.

    `reused` is decided by the caller, who can see other inspections (same SHA-256, or a phash
    within NEAR_DUPLICATE_MAX_DISTANCE).
    """
    flags = []
    if _far_from_project(
        evidence_lat, evidence_lon, project_lat, project_lon, geofence_m + (accuracy_m or 0)
    ):
        flags.append(FLAG_GPS_FAR_FROM_PROJECT)
    if capture_time is not None and observed_at is not None:
        if capture_time.tzinfo is None or observed_at.tzinfo is None:
            raise ValueError(NAIVE_DATETIME)
        if abs(capture_time - observed_at) > CAPTURE_TIME_TOLERANCE:
            flags.append(FLAG_CAPTURE_TIME_MISMATCH)
    if reused:
        flags.append(FLAG_REUSED_PHOTO)
    if not has_exif:
        flags.append(FLAG_NO_EXIF)
    return sorted(flags)


def _far_from_project(
    evidence_lat: float | None,
    evidence_lon: float | None,
    project_lat: float | None,
    project_lon: float | None,
    allowed_m: float,
) -> bool:
    if evidence_lat is None or evidence_lon is None or project_lat is None or project_lon is None:
        return False
    return haversine_m(evidence_lat, evidence_lon, project_lat, project_lon) > allowed_m
