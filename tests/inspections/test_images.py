"""The photo pipeline, from hostile bytes to derivatives, evidence and plausibility flags."""

from __future__ import annotations

import hashlib
import io
import math
import random
from datetime import UTC, datetime, timedelta, timezone
from functools import cache

import imagehash
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms, ImageEnhance

from inspections.images import (
    CAPTURE_TIME_TOLERANCE,
    DISPLAY_MAX_SIDE,
    EARTH_RADIUS_M,
    JPEG_MAX_SCANS,
    NEAR_DUPLICATE_MAX_DISTANCE,
    SNIFF_HEAD_BYTES,
    THUMBNAIL_MAX_SIDE,
    TRAILING_PADDING_MAX,
    PhotoRejected,
    ProcessedPhoto,
    RejectionCode,
    analyse_photo,
    evidence_flags,
    haversine_m,
    phash_distance,
    sniff_format,
)
from tests.inspections.imagefactory import (
    HOHHOT_ALT_M,
    HOHHOT_LAT,
    HOHHOT_LON,
    encode,
    exif_bytes,
    halves,
    hohhot_exif,
    jpeg_markers,
    png_header_only,
    scene,
    swapped_primaries_icc,
    with_extra_scans,
    with_jpeg_dimensions,
)

ADAPTIVE = Image.Palette.ADAPTIVE
SHANGHAI_OFFSET = timedelta(hours=8)
ONE_DEGREE_M = EARTH_RADIUS_M * math.pi / 180  # arc length of one degree on the sphere


def rejection(data: bytes, **kwargs: int) -> RejectionCode:
    with pytest.raises(PhotoRejected) as caught:
        analyse_photo(data, **kwargs)
    return caught.value.code


@cache
def small_jpeg() -> bytes:
    return encode(scene(96, 64), "JPEG", quality=90, exif=hohhot_exif(orientation=6))


@cache
def small_png() -> bytes:
    return encode(scene(96, 64), "PNG")


@cache
def small_webp() -> bytes:
    return encode(scene(96, 64), "WEBP")


@cache
def small_heic() -> bytes:
    return encode(scene(96, 64), "HEIF")


@cache
def phone_jpeg() -> bytes:
    """Large enough that the display is decoded at half scale (JPEG draft mode)."""
    return encode(scene(3300, 2000), "JPEG", quality=90, exif=hohhot_exif())


SMALL_PHOTOS = {"jpeg": small_jpeg, "png": small_png, "webp": small_webp, "heif": small_heic}


# --- sniffing -------------------------------------------------------------------------------


@pytest.mark.parametrize("expected", ["jpeg", "png", "webp", "heif"])
def test_sniff_format_names_each_accepted_format_from_its_first_bytes(expected):
    head = SMALL_PHOTOS[expected]()[:SNIFF_HEAD_BYTES]

    assert sniff_format(head) == expected


@pytest.mark.parametrize(
    "head",
    [
        encode(scene(8, 8), "GIF")[:SNIFF_HEAD_BYTES],
        encode(scene(8, 8), "AVIF")[:SNIFF_HEAD_BYTES],
        b"<svg xmlns='http://www.w3.org/2000/svg'>",
        b"\xff\xd8",  # too short to be sure
        b"RIFF\x00\x00\x00\x00WAVE",
        b"",
    ],
)
def test_sniff_format_refuses_other_signatures(head):
    assert sniff_format(head) is None


# --- accepted photos: evidence ----------------------------------------------------------------


def test_jpeg_evidence_is_read_exactly():
    data = encode(halves(400, 200), "JPEG", exif=hohhot_exif(orientation=6))

    photo = analyse_photo(data)

    assert photo.detected_format == "jpeg"
    assert (photo.original_width, photo.original_height) == (200, 400)
    assert photo.sha256 == hashlib.sha256(data).hexdigest()
    assert photo.has_exif is True
    assert photo.gps_lat == pytest.approx(HOHHOT_LAT, abs=1e-6)
    assert photo.gps_lon == pytest.approx(HOHHOT_LON, abs=1e-6)
    assert photo.gps_alt_m == pytest.approx(HOHHOT_ALT_M, abs=1e-9)
    assert photo.capture_time == datetime(2024, 5, 1, 2, 11, 12, tzinfo=UTC)
    assert photo.capture_time.utcoffset() == SHANGHAI_OFFSET


def test_capture_time_uses_offset_time_original_when_present():
    data = encode(
        scene(64, 48), "JPEG", exif=exif_bytes(taken="2024:05:01 10:11:12", offset="-05:30")
    )

    photo = analyse_photo(data)

    assert photo.capture_time == datetime(2024, 5, 1, 15, 41, 12, tzinfo=UTC)
    assert photo.capture_time.utcoffset() == -timedelta(hours=5, minutes=30)


@pytest.mark.parametrize(
    "taken", ["0000:00:00 00:00:00", "2024:13:01 10:11:12", "2024-05-01 10:11:12", "    "]
)
def test_capture_time_is_none_when_the_camera_wrote_nonsense(taken):
    photo = analyse_photo(encode(scene(64, 48), "JPEG", exif=exif_bytes(taken=taken)))

    assert photo.capture_time is None
    assert photo.has_exif is True


def test_gps_south_and_west_and_below_sea_level_are_negative():
    exif = exif_bytes(
        lat=(33, 52, 4.2), lat_ref="S", lon=(70, 30, 0), lon_ref="W", alt_m=28.4, alt_ref=1
    )

    photo = analyse_photo(encode(scene(64, 48), "JPEG", exif=exif))

    assert photo.gps_lat == pytest.approx(-33.867833, abs=1e-6)
    assert photo.gps_lon == pytest.approx(-70.5, abs=1e-6)
    assert photo.gps_alt_m == pytest.approx(-28.4, abs=1e-9)


@pytest.mark.parametrize(
    "exif",
    [
        exif_bytes(lat=(40, 49, 31.02)),  # no longitude
        exif_bytes(lat=(40, 49, 31.02), lat_ref="X", lon=(111, 39, 7.2)),  # unknown hemisphere
        exif_bytes(lat=(0, 0, 0), lon=(0, 0, 0)),  # no fix
        exif_bytes(lat=(91, 0, 0), lon=(111, 39, 7.2)),  # beyond the pole
        exif_bytes(lat=(40, 75, 0), lon=(111, 39, 7.2)),  # 75 minutes
        exif_bytes(gps_raw={1: "N", 2: (0, 0, 0), 3: "E", 4: (111, 39)}),  # two components
    ],
    ids=["no-longitude", "bad-ref", "null-island", "beyond-pole", "bad-minutes", "two-parts"],
)
def test_unusable_gps_gives_no_position(exif):
    photo = analyse_photo(encode(scene(64, 48), "JPEG", exif=exif))

    assert (photo.gps_lat, photo.gps_lon, photo.gps_alt_m) == (None, None, None)


def test_photo_without_exif_has_no_evidence():
    photo = analyse_photo(encode(scene(64, 48), "JPEG"))

    assert photo.has_exif is False
    assert photo.capture_time is None
    assert (photo.gps_lat, photo.gps_lon) == (None, None)


@pytest.mark.parametrize("image_format", ["PNG", "WEBP", "HEIF"])
def test_other_formats_carry_evidence_too(image_format):
    data = encode(halves(400, 200), image_format, exif=hohhot_exif(orientation=6))

    photo = analyse_photo(data)

    assert photo.detected_format == {"PNG": "png", "WEBP": "webp", "HEIF": "heif"}[image_format]
    assert (photo.original_width, photo.original_height) == (200, 400)
    assert (photo.display.width, photo.display.height) == (200, 400)
    assert photo.gps_lat == pytest.approx(HOHHOT_LAT, abs=1e-6)
    assert photo.gps_lon == pytest.approx(HOHHOT_LON, abs=1e-6)
    assert photo.capture_time == datetime(2024, 5, 1, 2, 11, 12, tzinfo=UTC)


# --- accepted photos: derivatives -------------------------------------------------------------


def decoded(derivative_jpeg: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(derivative_jpeg))
    assert image.format == "JPEG"
    return image.convert("RGB")


def test_orientation_6_turns_a_landscape_into_a_portrait_with_the_left_edge_on_top():
    data = encode(halves(400, 200), "JPEG", quality=95, exif=exif_bytes(orientation=6))

    photo = analyse_photo(data)

    display = decoded(photo.display.jpeg)
    assert display.size == (200, 400) == (photo.display.width, photo.display.height)
    red_top, blue_bottom = display.getpixel((100, 50)), display.getpixel((100, 350))
    assert red_top[0] > 200 and red_top[2] < 60
    assert blue_bottom[2] > 200 and blue_bottom[0] < 60


def test_phone_sized_jpeg_is_scaled_to_display_and_thumbnail_sizes():
    photo = analyse_photo(phone_jpeg())

    assert (photo.original_width, photo.original_height) == (3300, 2000)
    assert (photo.display.width, photo.display.height) == (1600, 970)
    assert (photo.thumbnail.width, photo.thumbnail.height) == (320, 194)
    assert decoded(photo.display.jpeg).size == (1600, 970)
    assert decoded(photo.thumbnail.jpeg).size == (320, 194)


def test_small_photo_is_never_upscaled():
    photo = analyse_photo(encode(scene(300, 200), "PNG"))

    assert (photo.display.width, photo.display.height) == (300, 200)
    assert (photo.thumbnail.width, photo.thumbnail.height) == (300, 200)


def test_derivatives_carry_no_metadata_at_all():
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(
        scene(800, 600),
        "JPEG",
        exif=hohhot_exif(orientation=1),
        icc_profile=icc,
        comment=b"inspector 13800000000",
        xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/"></x:xmpmeta>',
    )
    assert b"Exif" in data and b"13800000000" in data

    photo = analyse_photo(data)

    for derivative in (photo.display, photo.thumbnail):
        image = Image.open(io.BytesIO(derivative.jpeg))
        assert dict(image.getexif()) == {}
        assert set(image.info) <= {"jfif", "jfif_version", "jfif_unit", "jfif_density"}
        # only JFIF (APP0), quantisation and Huffman tables and the frame header
        assert set(jpeg_markers(derivative.jpeg)) <= {0xE0, 0xDB, 0xC4, 0xC0}
        for leak in (b"Exif", b"ICC_PROFILE", b"adobe:ns:meta", b"13800000000"):
            assert leak not in derivative.jpeg
        # the GPS IFD pointer entry (tag 0x8825, LONG, count 1) in either byte order
        assert b"\x88\x25\x00\x04\x00\x00\x00\x01" not in derivative.jpeg
        assert b"\x25\x88\x04\x00\x01\x00\x00\x00" not in derivative.jpeg


def test_embedded_colour_profile_is_converted_to_srgb_then_dropped():
    red = Image.new("RGB", (40, 30), (255, 0, 0))
    data = encode(red, "JPEG", quality=95, icc_profile=swapped_primaries_icc())

    photo = analyse_photo(data)

    display = Image.open(io.BytesIO(photo.display.jpeg))
    assert "icc_profile" not in display.info
    red_channel, green_channel, blue_channel = display.convert("RGB").getpixel((20, 15))
    assert red_channel < 10 and green_channel > 245 and blue_channel < 10


@pytest.mark.parametrize(
    ("image", "image_format", "expected_pixel"),
    [
        (Image.new("RGBA", (40, 30), (255, 0, 0, 0)), "PNG", (255, 255, 255)),
        (Image.new("LA", (40, 30), (0, 255)), "PNG", (0, 0, 0)),
        (
            Image.new("RGB", (40, 30), (0, 128, 0)).convert("P", palette=ADAPTIVE),
            "PNG",
            (0, 128, 0),
        ),
        (Image.new("I;16", (40, 30), 0x8000), "PNG", (128, 128, 128)),
        (Image.new("CMYK", (40, 30), (0, 0, 0, 0)), "JPEG", (255, 255, 255)),
        (Image.new("L", (40, 30), 200), "JPEG", (200, 200, 200)),
    ],
    ids=["transparent", "grey-alpha", "palette", "16-bit-grey", "cmyk", "grey"],
)
def test_every_colour_mode_becomes_plain_rgb(image, image_format, expected_pixel):
    photo = analyse_photo(encode(image, image_format))

    pixel = decoded(photo.display.jpeg).getpixel((20, 15))
    assert all(abs(got - want) <= 3 for got, want in zip(pixel, expected_pixel, strict=True))


def test_transparent_palette_entries_become_white():
    image = Image.new("RGB", (40, 30), (0, 128, 0)).convert("P", palette=ADAPTIVE)

    photo = analyse_photo(encode(image, "PNG", transparency=image.getpixel((0, 0))))

    assert min(decoded(photo.display.jpeg).getpixel((20, 15))) >= 252


def test_multi_picture_jpeg_is_accepted_whole():
    data = encode(scene(200, 100), "MPO", save_all=True, append_images=[scene(200, 100, seed=1)])

    photo = analyse_photo(data)

    assert (photo.detected_format, photo.display.width) == ("jpeg", 200)


# --- perceptual hash ------------------------------------------------------------------------


def test_processing_is_deterministic():
    assert analyse_photo(phone_jpeg()) == analyse_photo(phone_jpeg())


def test_phash_survives_reencoding_resizing_brightening_and_format_changes():
    original = scene(1200, 900, seed=7)
    reference = analyse_photo(encode(original, "JPEG", quality=95)).phash
    variants = [
        encode(ImageEnhance.Brightness(original).enhance(1.15), "JPEG", quality=95),
        encode(original, "PNG"),
        encode(original, "WEBP", quality=60),
        encode(original, "JPEG", quality=35),
        encode(original.resize((600, 450)), "JPEG", quality=70),
        encode(original, "HEIF"),
    ]

    distances = [phash_distance(reference, analyse_photo(data).phash) for data in variants]

    assert max(distances) <= NEAR_DUPLICATE_MAX_DISTANCE


def test_phash_is_taken_after_orientation():
    upright = scene(600, 400, seed=3)
    stored_sideways = upright.transpose(Image.Transpose.ROTATE_90)
    data = encode(stored_sideways, "JPEG", quality=95, exif=exif_bytes(orientation=6))

    photo = analyse_photo(data)

    assert phash_distance(photo.phash, str(imagehash.phash(upright))) <= 4
    assert (
        phash_distance(photo.phash, str(imagehash.phash(stored_sideways)))
        > NEAR_DUPLICATE_MAX_DISTANCE
    )


def test_different_scenes_are_not_near_duplicates():
    hashes = [analyse_photo(encode(scene(640, 480, seed=seed), "JPEG")).phash for seed in range(6)]

    distances = [phash_distance(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1 :]]

    assert min(distances) > NEAR_DUPLICATE_MAX_DISTANCE


def test_phash_distance_counts_differing_bits():
    assert phash_distance("ffffffffffffffff", "0000000000000000") == 64
    assert phash_distance("8000000000000001", "0000000000000000") == 2
    assert phash_distance("A1b2C3d4e5F60718", "a1B2c3D4E5f60718") == 0


@pytest.mark.parametrize("bad", ["", "abc", "g000000000000000", "0" * 17, " 000000000000000"])
def test_phash_distance_refuses_what_is_not_a_phash(bad):
    with pytest.raises(ValueError, match="16 hexadecimal"):
        phash_distance(bad, "0" * 16)


# --- rejected uploads -------------------------------------------------------------------------


def test_empty_file_is_rejected():
    assert rejection(b"") == RejectionCode.EMPTY_FILE


@pytest.mark.parametrize(
    "data",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
        b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>",
        b"#!/bin/sh\nrm -rf /\n",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
        b"PK\x03\x04" + bytes(40),
        random.Random(1).randbytes(4096),
    ],
    ids=["svg", "xml-svg", "html", "script", "pdf", "zip", "random"],
)
def test_what_is_not_an_image_is_rejected_as_such(data):
    assert rejection(data) == RejectionCode.NOT_AN_IMAGE


@pytest.mark.parametrize("image_format", ["GIF", "BMP", "TIFF", "AVIF"])
def test_images_in_other_formats_are_unsupported(image_format):
    assert rejection(encode(scene(64, 48), image_format)) == RejectionCode.UNSUPPORTED_FORMAT


def test_huge_png_header_is_a_bomb_refused_before_decoding():
    data = png_header_only(50_000, 50_000)  # 2.5 gigapixels announced in 67 bytes

    assert rejection(data) == RejectionCode.DECOMPRESSION_BOMB


@pytest.mark.parametrize(
    "data",
    [
        png_header_only(9_000, 8_000),  # 72 MP: under Pillow's own limit, over ours
        with_jpeg_dimensions(encode(scene(64, 48), "JPEG"), 60_000, 60_000),
    ],
    ids=["png-72mp", "jpeg-3.6gp"],
)
def test_headers_announcing_more_than_64_megapixels_are_bombs(data):
    assert rejection(data) == RejectionCode.DECOMPRESSION_BOMB


def test_max_pixels_is_inclusive():
    data = encode(scene(100, 100), "PNG")

    assert analyse_photo(data, max_pixels=10_000).original_width == 100
    assert rejection(data, max_pixels=9_999) == RejectionCode.DECOMPRESSION_BOMB


def test_jpeg_with_too_many_scans_is_a_bomb():
    data = with_extra_scans(encode(scene(64, 48), "JPEG"), JPEG_MAX_SCANS)

    assert rejection(data) == RejectionCode.DECOMPRESSION_BOMB


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.999])
def test_truncated_phone_jpeg_is_rejected_despite_draft_decoding(fraction):
    data = phone_jpeg()

    assert rejection(data[: int(len(data) * fraction)]) == RejectionCode.TRUNCATED


@pytest.mark.parametrize("cut", [1, 2, 3])
def test_jpeg_missing_only_its_last_bytes_is_truncated(cut):
    assert rejection(phone_jpeg()[:-cut]) == RejectionCode.TRUNCATED


@pytest.mark.parametrize("detected", ["png", "webp", "heif"])
def test_truncated_png_webp_heif_are_rejected(detected):
    data = SMALL_PHOTOS[detected]()

    assert rejection(data[: len(data) * 3 // 4]) == RejectionCode.TRUNCATED


def heif_boxes(data: bytes) -> dict[bytes, tuple[int, int]]:
    """Top-level box type → (offset, size) of a small HEIF whose boxes use 32-bit sizes."""
    boxes, pos = {}, 0
    while pos < len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        boxes[data[pos + 4 : pos + 8]] = (pos, size)
        pos += size
    return boxes


def test_heif_cut_between_its_item_table_and_its_picture_is_truncated():
    # Box by box the prefix is whole: only the item locations (iloc) show the picture missing,
    # and libheif has been seen decoding such a prefix from stale memory.
    data = small_heic()
    mdat_offset, _ = heif_boxes(data)[b"mdat"]

    assert rejection(data[:mdat_offset]) == RejectionCode.TRUNCATED


def test_heif_whose_picture_is_said_to_lie_past_the_end_is_truncated():
    data = small_heic()
    mdat_offset, mdat_size = heif_boxes(data)[b"mdat"]
    # Grow the mdat box and pad the file so the boxes stay whole; then say the last item runs
    # one byte past the end of the file.
    grown = bytearray(data)
    grown[mdat_offset : mdat_offset + 4] = (mdat_size + 64).to_bytes(4, "big")
    grown += bytes(64)
    assert outcome(bytes(grown)) not in {RejectionCode.TRUNCATED}  # the control stands

    iloc = bytes(grown).index(b"iloc")
    grown_iloc = _lengthen_last_extent(bytes(grown), iloc, by=65)

    assert rejection(grown_iloc) == RejectionCode.TRUNCATED


def _lengthen_last_extent(data: bytes, iloc_type_at: int, *, by: int) -> bytes:
    box_start = iloc_type_at - 4
    box_end = box_start + int.from_bytes(data[box_start : box_start + 4], "big")
    length_size = data[iloc_type_at + 8] & 0x0F
    assert length_size in (4, 8), "the encoder's iloc has byte-sized extent lengths"
    field = slice(box_end - length_size, box_end)  # the last field of the box
    longer = int.from_bytes(data[field], "big") + by
    return data[: field.start] + longer.to_bytes(length_size, "big") + data[field.stop :]


@pytest.mark.parametrize("detected", ["jpeg", "png", "webp", "heif"])
@pytest.mark.parametrize(
    "payload",
    [b"<script>alert(document.cookie)</script>", b"PK\x03\x04" + bytes(26), b"\x00" * 16 + b"!"],
    ids=["script", "zip", "after-zeros"],
)
def test_bytes_after_the_image_make_a_polyglot(detected, payload):
    assert rejection(SMALL_PHOTOS[detected]() + payload) == RejectionCode.POLYGLOT


def test_multi_picture_jpeg_with_a_script_after_its_last_picture_is_a_polyglot():
    data = encode(scene(200, 100), "MPO", save_all=True, append_images=[scene(200, 100, seed=1)])

    assert rejection(data + b"<script>alert(1)</script>") == RejectionCode.POLYGLOT


def test_zero_padding_up_to_the_limit_is_tolerated_and_beyond_it_is_not():
    data = small_jpeg()

    assert (
        analyse_photo(data + bytes(TRAILING_PADDING_MAX)).sha256
        == hashlib.sha256(data + bytes(TRAILING_PADDING_MAX)).hexdigest()
    )
    assert rejection(data + bytes(TRAILING_PADDING_MAX + 1)) == RejectionCode.POLYGLOT


def test_png_with_a_damaged_image_chunk_is_corrupt():
    data = bytearray(small_png())
    idat = data.index(b"IDAT")
    data[idat + 10] ^= 0xFF

    assert rejection(bytes(data)) == RejectionCode.CORRUPT


def test_jpeg_with_a_broken_marker_is_corrupt():
    data = bytearray(small_jpeg())
    second_segment = 4 + int.from_bytes(data[4:6], "big")
    data[second_segment] = 0x12  # instead of the 0xFF that starts every marker

    assert rejection(bytes(data)) == RejectionCode.CORRUPT


# --- properties -----------------------------------------------------------------------------


def outcome(data: bytes) -> ProcessedPhoto | RejectionCode:
    try:
        return analyse_photo(data)
    except PhotoRejected as rejected:
        assert rejected.code in set(RejectionCode)
        assert rejected.detail
        return rejected.code


MAGIC_HEADS = [
    b"\xff\xd8\xff",
    b"\x89PNG\r\n\x1a\n",
    b"RIFF\x00\x10\x00\x00WEBP",
    b"\x00\x00\x00\x18ftypheic",
]


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=2048)
    | st.tuples(st.sampled_from(MAGIC_HEADS), st.binary(max_size=2048)).map(b"".join)
)
def test_any_bytes_give_a_photo_or_a_rejection(data):
    outcome(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(SMALL_PHOTOS)), st.data())
def test_any_strict_prefix_of_a_photo_is_truncated_once_its_signature_is_there(detected, draw):
    data = SMALL_PHOTOS[detected]()
    length = draw.draw(st.integers(min_value=SNIFF_HEAD_BYTES, max_value=len(data) - 1))

    result = outcome(data[:length])

    # A HEIF cut exactly between two boxes is well-formed box by box: its item locations
    # still show the cut.
    assert result == RejectionCode.TRUNCATED


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(SMALL_PHOTOS)),
    st.lists(
        st.tuples(st.integers(min_value=0), st.integers(min_value=1, max_value=255)),
        min_size=1,
        max_size=8,
    ),
)
def test_any_flipped_bytes_give_a_photo_or_a_rejection(detected, flips):
    data = bytearray(SMALL_PHOTOS[detected]())
    for position, mask in flips:
        data[position % len(data)] ^= mask

    outcome(bytes(data))


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=1, max_value=3400),
    st.integers(min_value=1, max_value=3400),
    st.sampled_from(["JPEG", "PNG"]),
    st.sampled_from([None, 1, 6, 8]),
)
def test_derivatives_fit_their_limits_and_never_grow(width, height, image_format, orientation):
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    exif = exif_bytes(orientation=orientation) if orientation else b""
    params = {"compress_level": 1} if image_format == "PNG" else {"quality": 70}

    photo = analyse_photo(encode(image, image_format, exif=exif, **params))

    long_side = max(width, height)
    assert sorted((photo.original_width, photo.original_height)) == sorted((width, height))
    for derivative, limit in (
        (photo.display, DISPLAY_MAX_SIDE),
        (photo.thumbnail, THUMBNAIL_MAX_SIDE),
    ):
        assert max(derivative.width, derivative.height) == min(long_side, limit)
        assert derivative.width <= photo.original_width
        assert derivative.height <= photo.original_height
        assert decoded(derivative.jpeg).size == (derivative.width, derivative.height)


# --- plausibility flags ---------------------------------------------------------------------

PROJECT = {"project_lat": 40.0, "project_lon": 111.0}
NOON = datetime(2024, 5, 1, 12, 0, tzinfo=timezone(SHANGHAI_OFFSET))


def flags(**overrides: object) -> list[str]:
    arguments: dict[str, object] = {
        "evidence_lat": 40.0,
        "evidence_lon": 111.0,
        **PROJECT,
        "geofence_m": 100.0,
        "accuracy_m": None,
        "capture_time": NOON,
        "observed_at": NOON,
        "has_exif": True,
        "reused": False,
    }
    arguments.update(overrides)
    return evidence_flags(**arguments)  # type: ignore[arg-type]


def test_haversine_matches_arc_lengths_on_the_sphere():
    assert haversine_m(0.0, 0.0, 1.0, 0.0) == pytest.approx(ONE_DEGREE_M, rel=1e-12)
    assert haversine_m(0.0, 0.0, 0.0, 180.0) == pytest.approx(math.pi * EARTH_RADIUS_M, rel=1e-12)
    assert haversine_m(40.0, 111.0, 40.0, 111.0) == 0.0
    # along a parallel one degree of longitude shrinks by cos(latitude), to first order
    assert haversine_m(60.0, 10.0, 60.0, 10.001) == pytest.approx(
        ONE_DEGREE_M * 0.001 / 2, rel=1e-6
    )
    assert haversine_m(40.1, 111.2, 40.0, 111.0) == haversine_m(40.0, 111.0, 40.1, 111.2)


def test_a_photo_with_consistent_evidence_raises_no_flag():
    assert flags() == []


def test_gps_far_from_project_compares_with_geofence_plus_accuracy():
    # 0.001° north of the project is 111.195 m away
    assert flags(evidence_lat=40.001, accuracy_m=11.0) == ["gps_far_from_project"]
    assert flags(evidence_lat=40.001, accuracy_m=12.0) == []
    assert flags(evidence_lat=40.001, geofence_m=111.0) == ["gps_far_from_project"]
    assert flags(evidence_lat=40.001, geofence_m=111.2) == []


@pytest.mark.parametrize(
    "unknown",
    [
        {"evidence_lat": None, "evidence_lon": None},
        {"evidence_lat": 41.0, "project_lat": None, "project_lon": None},
    ],
)
def test_gps_far_from_project_needs_both_positions(unknown):
    assert flags(**unknown) == []


def test_capture_time_mismatch_beyond_24_hours_either_way():
    assert flags(capture_time=NOON - CAPTURE_TIME_TOLERANCE) == []
    assert flags(capture_time=NOON + CAPTURE_TIME_TOLERANCE) == []
    late = NOON + CAPTURE_TIME_TOLERANCE + timedelta(seconds=1)
    assert flags(capture_time=late) == ["capture_time_mismatch"]
    assert flags(observed_at=late) == ["capture_time_mismatch"]
    assert flags(capture_time=None, observed_at=late) == []


def test_capture_time_mismatch_compares_instants_not_wall_clocks():
    same_instant_in_utc = NOON.astimezone(UTC)

    assert flags(capture_time=same_instant_in_utc) == []


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        flags(capture_time=datetime(2024, 5, 1, 12, 0))


def test_all_flags_come_sorted():
    result = flags(
        evidence_lat=41.0, capture_time=NOON - timedelta(days=3), has_exif=False, reused=True
    )

    assert result == ["capture_time_mismatch", "gps_far_from_project", "no_exif", "reused_photo"]
