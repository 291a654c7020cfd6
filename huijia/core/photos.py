"""Optional photos (visits, demands): checked to be real images, stored under our own name, sent once.

Photos are never required anywhere. A photo must decode as a JPEG, PNG, WebP or GIF image of at most
5 MB; it is then renamed to a random name with the extension of its decoded format, so a file that is
both an image and something else ("x.html") is never stored or served under the name its sender chose.
The digest of its bytes lets a resend after a lost answer be stored once.
"""

import hashlib
import uuid

from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from huijia.core.errors import InvalidInput

MAX_PHOTO_BYTES = 5 * 1024 * 1024
PHOTO_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}  # format → stored extension


def _bad(field: str, message: str, code: str) -> InvalidInput:
    return InvalidInput(message, code=code, fields={field: [message]})


def check_photo(photo: UploadedFile, field: str = "photos") -> None:
    """Refuses anything but a JPEG, PNG, WebP or GIF image of at most 5 MB, and renames the file."""
    if photo.size is not None and photo.size > MAX_PHOTO_BYTES:
        raise _bad(field, _("每张照片不超过5MB"), "photo_too_large")
    try:
        photo.seek(0)
        with Image.open(photo) as image:
            kind = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _bad(field, _("只能上传照片（JPG、PNG、WebP 或 GIF 图片）"), "not_an_image") from None
    finally:
        photo.seek(0)
    if kind not in PHOTO_FORMATS:
        raise _bad(field, _("只能上传照片（JPG、PNG、WebP 或 GIF 图片）"), "not_an_image")
    photo.name = f"{uuid.uuid4().hex}.{PHOTO_FORMATS[kind]}"


def photo_digest(photo: UploadedFile) -> str:
    digest = hashlib.sha256()
    photo.seek(0)
    for chunk in photo.chunks():
        digest.update(chunk)
    photo.seek(0)
    return digest.hexdigest()


PHOTO_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif"}


def photo_response(image) -> FileResponse:
    """Serves a stored photo as an image only: never cached by others, never run as a page."""
    extension = image.name.rsplit(".", 1)[-1].lower()
    response = FileResponse(
        image.open("rb"), content_type=PHOTO_TYPES.get(extension, "application/octet-stream")
    )
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"  # an image, never a page
    response["X-Content-Type-Options"] = "nosniff"
    return response
