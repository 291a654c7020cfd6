"""Configuration comes only from the environment; production mode passes Django's deploy checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from huijia.core.env import env_bool, env_int, local_secrets

ROOT = Path(__file__).resolve().parents[3]


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "HUIJIA_DATA_KEYS"}
    }
    base.update({"DJANGO_SETTINGS_MODULE": "huijia.settings", **env})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=base, capture_output=True, text=True, timeout=120
    )


def production_env(tmp_path) -> dict[str, str]:
    return {
        "DEBUG": "0",
        "SECRET_KEY": Fernet.generate_key().decode() * 2,
        "HUIJIA_DATA_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "huijia.example.cn",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        "HUIJIA_VAR_DIR": str(tmp_path),
    }


def test_check_deploy_is_clean_in_production_mode(tmp_path):
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_without_secrets_refuses_to_start(tmp_path):
    env = production_env(tmp_path)
    del env["SECRET_KEY"]
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY and HUIJIA_DATA_KEYS" in result.stderr


def test_demo_secrets_are_generated_once_and_kept_private(tmp_path):
    first = local_secrets(tmp_path / "secrets.json")
    assert local_secrets(tmp_path / "secrets.json") == first
    assert len(first["SECRET_KEY"]) >= 50
    Fernet(first["HUIJIA_DATA_KEYS"].encode())
    assert (tmp_path / "secrets.json").stat().st_mode & 0o077 == 0


def test_secrets_file_is_ignored_by_git():
    result = subprocess.run(
        ["git", "check-ignore", "var/secrets.json"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0


def test_bad_values_fail_loudly(monkeypatch):
    monkeypatch.setenv("HUIJIA_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="HUIJIA_FLAG"):
        env_bool("HUIJIA_FLAG")
    monkeypatch.setenv("HUIJIA_NUM", "ten")
    with pytest.raises(ImproperlyConfigured, match="HUIJIA_NUM"):
        env_int("HUIJIA_NUM", 1)
