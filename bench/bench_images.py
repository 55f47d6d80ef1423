"""Benchmark: the photo pipeline against one plain Pillow decode of the same phone JPEG.

    python bench/bench_images.py [--repeats 7]

Builds 8–12 MP JPEGs the size of phone photos (photographic-like content: smooth gradients,
texture at several scales and sensor noise, so that they compress to 3–8 MB like real ones) in a
temporary directory, then measures CPU time (time.process_time) of `analyse_photo` and of
`Image.open(...).load()` on the same bytes, interleaved, `--repeats` times each.

Target: median over the files of (median pipeline time / median decode time) ≤ 1.5. The pipeline
does everything a photo needs (container walk, SHA-256, EXIF, decode, orientation, two resized
and re-encoded derivatives, perceptual hash), so the decode at reduced DCT scale must pay for
the rest. Writes bench/results/images.json.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import PIL
from PIL import ExifTags, Image, features
from PIL.TiffImagePlugin import IFDRational

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inspections.images import analyse_photo

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "images.json"
TARGET_RATIO = 1.5
# Phone cameras save JPEGs at quality 90–97; 95 is typical of Android and iPhone "JPEG" mode.
PHONE_JPEG_QUALITY = 95
# name, width, height, EXIF orientation, fine-detail amplitude (more detail → bigger file)
PHOTOS = [
    ("4000x3000_landscape", 4000, 3000, 1, 18.0),
    ("4032x3024_portrait", 4032, 3024, 6, 14.0),
    ("3648x2736_landscape", 3648, 2736, 1, 22.0),
    ("3264x2448_landscape", 3264, 2448, 1, 10.0),
]


def main() -> None:
    args = parse_args()
    files = []
    with tempfile.TemporaryDirectory(prefix="bench_images_") as folder:
        for seed, (name, width, height, orientation, detail) in enumerate(PHOTOS):
            path = Path(folder) / f"{name}.jpg"
            path.write_bytes(phone_jpeg(width, height, orientation, detail, seed))
            files.append((name, path))
        results = {name: measure(path.read_bytes(), args.repeats) for name, path in files}
    ratios = [result["ratio_median"] for result in results.values()]
    median_ratio = round(statistics.median(ratios), 3)
    report = {
        "benchmark": "images",
        "command": f"python bench/bench_images.py --repeats {args.repeats}",
        "summary": (
            f"analyse_photo CPU time / plain Pillow decode of the same phone JPEG: median "
            f"{median_ratio}x over {len(ratios)} files (target ≤ {TARGET_RATIO}x)"
        ),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "repeats": args.repeats,
        "median_ratio": median_ratio,
        "max_ratio": max(ratios),
        "target_ratio": TARGET_RATIO,
        "meets_target": median_ratio <= TARGET_RATIO,
        "files": results,
        "machine": {
            "python": platform.python_version(),
            "pillow": PIL.__version__,
            "libjpeg_turbo": features.version("libjpeg_turbo"),
            "processor": platform.processor() or platform.machine(),
        },
    }
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    for name, result in results.items():
        print(
            f"{name:22} {result['megabytes']:5.2f} MB  decode {result['decode_ms_median']:6.1f} ms"
            f"  pipeline {result['pipeline_ms_median']:6.1f} ms  ratio {result['ratio_median']:.2f}"
        )
    print(report["summary"])
    print(f"wrote {RESULTS_PATH}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    return parser.parse_args()


def phone_jpeg(width: int, height: int, orientation: int, detail: float, seed: int) -> bytes:
    image = Image.fromarray(photographic_pixels(width, height, detail, seed))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=PHONE_JPEG_QUALITY, exif=phone_exif(orientation))
    return buffer.getvalue()


def photographic_pixels(width: int, height: int, detail: float, seed: int) -> np.ndarray:
    """Sky-to-ground gradient, objects at several scales, fine texture and sensor noise."""
    rng = np.random.default_rng(seed)
    pixels = np.zeros((height, width, 3), np.float32)
    pixels += np.linspace(60.0, -40.0, height, dtype=np.float32)[:, None, None]
    # (cells across the width, amplitude): scenery, objects, surfaces, fine texture
    for cells, amplitude in ((4, 70.0), (32, 40.0), (width // 16, 20.0), (width // 4, detail)):
        rows = max(2, cells * height // width)
        coarse = rng.uniform(-amplitude, amplitude, (rows, cells, 3)).astype(np.float32)
        pixels += np.stack([upsampled(coarse[..., c], width, height) for c in range(3)], axis=-1)
    pixels += 128.0 + rng.normal(0.0, 3.0, (height, width, 1)).astype(np.float32)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def upsampled(channel: np.ndarray, width: int, height: int) -> np.ndarray:
    return np.asarray(Image.fromarray(channel).resize((width, height), Image.Resampling.BICUBIC))


def phone_exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "BenchPhone"
    exif[ExifTags.Base.Orientation] = orientation
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2024:05:01 10:11:12"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (IFDRational(40), IFDRational(49), IFDRational(3102, 100))
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (IFDRational(111), IFDRational(39), IFDRational(72, 10))
    return exif.tobytes()


def plain_decode(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as image:
        image.load()


def cpu_seconds(work: Callable[[], object]) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


def measure(data: bytes, repeats: int) -> dict[str, object]:
    photo = analyse_photo(data)  # warm-up: imports, lazy tables, caches
    plain_decode(data)
    decode_times, pipeline_times = [], []
    for _ in range(repeats):  # interleaved, so that drift in machine load hits both alike
        decode_times.append(cpu_seconds(lambda: plain_decode(data)))
        pipeline_times.append(cpu_seconds(lambda: analyse_photo(data)))
    decode_ms = statistics.median(decode_times) * 1000
    pipeline_ms = statistics.median(pipeline_times) * 1000
    return {
        "megabytes": round(len(data) / 1e6, 2),
        "width": photo.original_width,
        "height": photo.original_height,
        "megapixels": round(photo.original_width * photo.original_height / 1e6, 1),
        "decode_ms_median": round(decode_ms, 1),
        "pipeline_ms_median": round(pipeline_ms, 1),
        "decode_ms_best": round(min(decode_times) * 1000, 1),
        "pipeline_ms_best": round(min(pipeline_times) * 1000, 1),
        "ratio_median": round(pipeline_ms / decode_ms, 3),
        "ratio_best": round(min(pipeline_times) / min(decode_times), 3),
        "display": f"{photo.display.width}x{photo.display.height}",
        "display_kilobytes": round(len(photo.display.jpeg) / 1e3, 1),
        "thumbnail": f"{photo.thumbnail.width}x{photo.thumbnail.height}",
        "thumbnail_kilobytes": round(len(photo.thumbnail.jpeg) / 1e3, 1),
    }


if __name__ == "__main__":
    main()
