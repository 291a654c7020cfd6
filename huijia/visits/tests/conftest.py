import pytest

FILE_STORAGE = "django.core.files.storage.FileSystemStorage"


@pytest.fixture
def media(settings, tmp_path):
    """Photos go to a temporary folder."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": FILE_STORAGE, "OPTIONS": {"location": tmp_path}},
    }
    return tmp_path
