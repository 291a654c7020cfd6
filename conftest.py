import pytest

from huijia.core.testing import World, build_world


@pytest.fixture
def world(db) -> World:
    return build_world()


@pytest.fixture
def media(settings, tmp_path):
    """Uploaded files (photos, import files) go to a temporary folder for the test."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path},
        },
    }
    return tmp_path
