"""What becomes of an uploaded photo before anyone stores or sees it: pure, CPU only, no I/O.

The type is sniffed from the bytes (Pillow's decoders, restricted to JPEG, PNG, WebP and HEIC),
never taken from the file name or the declared Content-Type. The pixel count is read from the
header and checked before any pixel is decoded, so a decompression bomb (a 1 KiB PNG declaring
100,000 × 100,000 pixels) is refused in microseconds rather than stalling a process. The stored
copy is re-encoded from its pixels alone: EXIF (a resident's home's GPS, their phone's model and
serial), XMP, IPTC, ICC and comments are not carried over; the EXIF orientation is applied to
the pixels first, so the photo still stands the right way up. HEIC (iPhones) is stored as JPEG,
which every console can show.

Callers run `process` in a worker thread (Pillow releases the GIL while it decodes and encodes).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import warnings

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from linkduty_shared.domain import DomainError

pillow_heif.register_heif_opener()

ACCEPTED = {"JPEG": ("image/jpeg", "JPEG"), "PNG": ("image/png", "PNG"), "WEBP": ("image/webp", "WEBP"),
            "HEIF": ("image/jpeg", "JPEG")}  # decoded format → (stored media type, encoder)
STORED_MAX_SIDE = 4096  # a 48 MP phone photo is stored at 4096 px on its long side: evidence, not print
THUMBNAIL_SIDE = 320


@dataclasses.dataclass(frozen=True)
class PhotoLimits:
    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 50_000_000  # a 48 MP phone camera's full resolution passes; a bomb does not
    max_side: int = 12_000


class NotAnImage(DomainError):
    type_slug, status, title = "not-an-image", 415, "Not a JPEG, PNG, WebP or HEIC image"


class ImageTooLarge(DomainError):
    type_slug, status, title = "image-too-large", 422, "Image has too many pixels"


@dataclasses.dataclass(frozen=True)
class Processed:
    media_type: str
    data: bytes  # the stored copy: no metadata
    sha256: str  # of `data`: what a console can check the bytes it got against
    width: int
    height: int
    thumbnail: bytes  # JPEG, at most THUMBNAIL_SIDE px on its long side
    original_sha256: str  # of the upload: the same bytes uploaded twice are one photo


def process(upload: bytes, limits: PhotoLimits = PhotoLimits()) -> Processed:
    if len(upload) > limits.max_bytes:  # the API refuses these before reading them; this is the domain's own guard
        raise ImageTooLarge(f"{len(upload)} bytes: at most {limits.max_bytes}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(upload), formats=tuple(ACCEPTED))
            width, height = image.size
            if width * height > limits.max_pixels or max(width, height) > limits.max_side:
                raise ImageTooLarge(f"{width} × {height} pixels: at most {limits.max_pixels:,} pixels "
                                    f"and {limits.max_side} on a side")
            media_type, encoder = ACCEPTED[image.format]
            if image.format == "JPEG":
                image.draft("RGB", (STORED_MAX_SIDE, STORED_MAX_SIDE))  # decode a big JPEG at a fraction of its size
            image.seek(0)  # an animated WebP or PNG: its first frame
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        if isinstance(exc, UnidentifiedImageError):
            raise NotAnImage("the content is not a JPEG, PNG, WebP or HEIC image (it was sniffed, "
                             "not taken from its name or Content-Type)") from None
        raise ImageTooLarge(str(exc)) from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # truncated or corrupt past its header
        raise NotAnImage(f"the image cannot be decoded: {type(exc).__name__}") from None

    pixels = _pixels_only(upright, encoder)
    pixels.thumbnail((STORED_MAX_SIDE, STORED_MAX_SIDE))
    stored = _encode(pixels, encoder)
    thumb = pixels.copy()
    thumb.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    return Processed(media_type=media_type, data=stored, sha256=hashlib.sha256(stored).hexdigest(),
                     width=pixels.width, height=pixels.height, thumbnail=_encode(_pixels_only(thumb, "JPEG"), "JPEG"),
                     original_sha256=hashlib.sha256(upload).hexdigest())


def _pixels_only(image: Image.Image, encoder: str) -> Image.Image:
    """A new image holding the pixels and nothing else (no `info`: no EXIF, XMP, ICC, text)."""
    if encoder == "JPEG" and image.mode != "RGB":
        if image.mode in ("RGBA", "LA", "P", "PA"):
            rgba = image.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            return flat
        image = image.convert("RGB")
    elif image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    clean = Image.new(image.mode, image.size)
    if image.mode == "P":
        clean.putpalette(image.getpalette())
    clean.paste(image)
    return clean


def _encode(image: Image.Image, encoder: str) -> bytes:
    out = io.BytesIO()
    options = {"JPEG": {"quality": 85, "optimize": True}, "WEBP": {"quality": 85}, "PNG": {"optimize": False}}[encoder]
    image.save(out, encoder, **options)
    return out.getvalue()
