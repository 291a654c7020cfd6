"""Settings for the test suite: fast hashing, tasks run at once, a fixed data key."""

import os

os.environ.setdefault("HUIJIA_DATA_KEYS", "4mUfXO1wWJ9pwlbnmLO1nJGo4Z0R_dCwLyP8xJhqFhk=")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789abcdef")

from huijia.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
