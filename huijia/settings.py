"""huijia settings. Everything comes from the environment; demo-safe defaults otherwise.

Environment: DEBUG, SECRET_KEY, HUIJIA_DATA_KEYS (comma-separated Fernet keys, newest first:
they encrypt phone and ID numbers), DATABASE_URL (SQLite file in var/ when unset), ALLOWED_HOSTS,
CONN_MAX_AGE, HUIJIA_SECURE_SSL (set 0 only behind a proxy that already forces HTTPS).
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from huijia.core.env import env_bool, env_int, env_list, env_str, local_secrets

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("HUIJIA_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", True)
_generated = {} if env_str("SECRET_KEY") and env_str("HUIJIA_DATA_KEYS") else None
if _generated is None:
    if not DEBUG:
        raise ImproperlyConfigured("Production (DEBUG=0) needs SECRET_KEY and HUIJIA_DATA_KEYS set")
    _generated = local_secrets(VAR_DIR / "secrets.json")
SECRET_KEY = env_str("SECRET_KEY") or _generated["SECRET_KEY"]
HUIJIA_DATA_KEYS = env_list("HUIJIA_DATA_KEYS", []) or [_generated["HUIJIA_DATA_KEYS"]]

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "django_tasks_db",
    "huijia.core",
    "huijia.accounts",
    "huijia.grid",
    "huijia.orgs",
    "huijia.members",
    "huijia.demands",
    "huijia.visits",
    "huijia.care",
    "huijia.volunteering",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

if not DEBUG:  # production serves collected static files itself; runserver serves them in debug
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "huijia.urls"
WSGI_APPLICATION = "huijia.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["huijia.accounts.backends.ScopeAwareBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "huijia" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "huijia.accounts.context.actor",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'huijia.sqlite3'}"),
        conn_max_age=env_int("CONN_MAX_AGE", 600),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "huijia" / "static",  # the project's own CSS (huijia/site.css)
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/echarts", BASE_DIR / "node_modules" / "echarts" / "dist"),
]
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": VAR_DIR / "media"},
    },
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
HUIJIA_IMPORT_MAX_BYTES = env_int("HUIJIA_IMPORT_MAX_BYTES", 64 * 1024 * 1024)
# The TrueType CJK font embedded in certificate PDFs (Debian: fonts-wqy-microhei, see scripts/ensure-fonts)
HUIJIA_CJK_FONT = env_str("HUIJIA_CJK_FONT", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")

SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    _ssl = env_bool("HUIJIA_SECURE_SSL", True)
    SECURE_SSL_REDIRECT = _ssl
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    if not _ssl:
        SILENCED_SYSTEM_CHECKS = ["security.W008"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}

# Absolute address printed into QR codes (member cards, community posters).
HUIJIA_PUBLIC_BASE_URL = env_str("HUIJIA_PUBLIC_BASE_URL", "http://127.0.0.1:8000")
