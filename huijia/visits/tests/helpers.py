"""Small builders shared by the visit tests."""

import io
import uuid

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def png_bytes(colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def png(name: str = "door.png", colour: tuple[int, int, int] = (200, 30, 30)) -> SimpleUploadedFile:
    """A small real PNG; photos of different colours are different photos."""
    return SimpleUploadedFile(name, png_bytes(colour), content_type="image/png")


def not_an_image() -> SimpleUploadedFile:
    return SimpleUploadedFile("door.png", b"%PDF-1.4 this is not a picture", content_type="image/png")


def new_key() -> str:
    return str(uuid.uuid4())
