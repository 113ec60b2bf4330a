"""A real JPEG as a phone saves it, EXIF with a GPS position included, made with Pillow; and the
checks that a JPEG carries no such metadata any more. flow.py uploads this photo and checks what
the clinician downloads.

    python clients/python/gps_photo.py clients/typescript/gps-photo.jpg   # the TypeScript flow's copy
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass

from PIL import ExifTags, Image, JpegImagePlugin

WIDTH, HEIGHT = 96, 64


def jpeg_with_gps() -> bytes:
    """A small JPEG with an Exif block: camera, serial number and a GPS position (Chicago)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), (214, 128, 118))
    for x in range(WIDTH // 3, 2 * WIDTH // 3):
        for y in range(HEIGHT // 3, 2 * HEIGHT // 3):
            image.putpixel((x, y), (180, 60, 60))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "FlowPhone"
    exif[ExifTags.Base.Model] = "FlowPhone 12"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.BodySerialNumber] = "SN-0042-FLOW"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (41.0, 52.0, 55.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (87.0, 37.0, 40.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=85)
    return out.getvalue()


@dataclass(frozen=True)
class JpegMetadata:
    """What a JPEG tells beyond its pixels."""

    width: int
    height: int
    exif_tags: int
    gps_tags: int
    app1_segments: int  # Exif and XMP live in APP1 segments


def metadata_of(jpeg: bytes) -> JpegMetadata:
    """Reads a JPEG's size and metadata with Pillow; ValueError if the bytes are not a JPEG."""
    image = Image.open(io.BytesIO(jpeg))
    if not isinstance(image, JpegImagePlugin.JpegImageFile):
        raise ValueError(f"not a JPEG but {image.format}")
    exif = image.getexif()
    return JpegMetadata(
        width=image.width,
        height=image.height,
        exif_tags=len(exif),
        gps_tags=len(exif.get_ifd(ExifTags.IFD.GPSInfo)),
        app1_segments=sum(1 for marker, _ in image.applist if marker == "APP1"),
    )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1], "wb") as fixture:
        fixture.write(jpeg_with_gps())
