"""The sign-up burst: 200 members signing up at the same moment for one 10-place slot, over HTTP.

`run(db_url)` sets up (or reuses) a bench community with 200 reporting members, each with an API token,
and an activity with one 10-place slot; starts gunicorn (2 workers, gthread) on a free port against the
same database; sends the 200 POST /api/v1/volunteer/slots/{id}/signup requests at once (a thread
each, released together); and reports the slowest answer, whether all came within 2 s, how many were
confirmed (must be exactly 10) and waitlisted, and how many answers were errors (must be 0). Its rows
are deleted afterwards (the bench community, its members and tokens stay for the next run, unless
`keep_members=False`).

Used by `manage.py bench` (huijia.volunteering.bench); on its own, against PostgreSQL:

    eval "$(scripts/ensure-postgres huijia_h1)" && .venv/bin/python manage.py migrate -v0
    DATABASE_URL=$DATABASE_URL .venv/bin/python -m huijia.volunteering.bench_signup
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

MEMBERS = 200
CAPACITY = 10
WORKERS = 2
THREADS = 8
TARGET_S = 2.0
CITY = "报名压测市"  # the bench's own branch of the area tree
TOKEN_PREFIX = "hj_bench_signup_"
ROOT = Path(__file__).resolve().parents[2]


def _django(db_url: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huijia.settings")
    os.environ.setdefault("DATABASE_URL", db_url)
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()


def _community():
    """The bench's community (a city, district, street and community of its own) with one building."""
    from huijia.grid.models import Area, AreaKind, Household
    from huijia.grid.services import _new_area

    city = Area.objects.filter(kind=AreaKind.CITY, name=CITY).first()
    if city is None:
        city = _new_area(parent=None, kind=AreaKind.CITY, name=CITY)
        district = _new_area(parent=city, kind=AreaKind.DISTRICT, name="压测区")
        street = _new_area(parent=district, kind=AreaKind.STREET, name="压测街道")
        community = _new_area(parent=street, kind=AreaKind.COMMUNITY, name="压测社区")
        estate = _new_area(parent=community, kind=AreaKind.ESTATE, name="压测小区")
        building = _new_area(parent=estate, kind=AreaKind.BUILDING, name="1栋")
        Household.objects.create(building=building, unit="1单元", floor=1, room="101")
    community = Area.objects.get(kind=AreaKind.COMMUNITY, path__startswith=city.path)
    household = Household.objects.filter(building__path__startswith=community.path).first()
    return community, household


def _members(community, household) -> list[str]:
    """200 reporting members of the bench community with a token each (made once, reused)."""
    from django.db import transaction
    from django.utils import timezone

    from huijia.accounts.models import ApiToken, User
    from huijia.accounts.services import _digest
    from huijia.core.crypto import blind_index
    from huijia.core.personal import id_check_digit
    from huijia.members.models import Member, Registration, RegistrationStatus

    keys = [f"{TOKEN_PREFIX}{i:04d}" for i in range(MEMBERS)]
    valid = ApiToken.objects.filter(
        digest__in=[_digest(k) for k in keys], expires_at__gt=timezone.now() + timedelta(hours=1)
    )
    if valid.count() == MEMBERS:
        return keys
    with transaction.atomic():
        _drop_members()
        users = User.objects.bulk_create(
            [
                User(username=f"bench_signup_{i:04d}", display_name=f"压测党员{i}", password="!")
                for i in range(MEMBERS)
            ]
        )
        members = []
        for i, user in enumerate(users):
            phone = f"177{i:08d}"
            first17 = f"4399{i // 1000:02d}19800101{i % 1000:03d}"  # a region no real member has
            id_number = first17 + id_check_digit(first17)
            members.append(
                Member(
                    user=user,
                    name=f"压测党员{i}",
                    phone=phone,
                    phone_digest=blind_index(phone),
                    id_number=id_number,
                    id_number_digest=blind_index(id_number),
                    community=community,
                    household=household,
                )
            )
        members = Member.objects.bulk_create(members)
        Registration.objects.bulk_create(
            [
                Registration(
                    member=m, community=community, household=household, status=RegistrationStatus.APPROVED
                )
                for m in members
            ]
        )
        expires = timezone.now() + timedelta(days=30)
        ApiToken.objects.bulk_create(
            [
                ApiToken(user=u, digest=_digest(k), prefix=k[:8], expires_at=expires)
                for u, k in zip(users, keys, strict=True)
            ]
        )
    return keys


def _drop_members() -> None:
    from huijia.accounts.models import ApiToken, User
    from huijia.members.models import Member, Registration

    users = User.objects.filter(username__startswith="bench_signup_")
    ApiToken.objects.filter(user__in=users).delete()
    Registration.objects.filter(member__user__in=users).delete()
    Member.objects.filter(user__in=users).delete()
    users.delete()


def _slot(community):
    """A fresh activity with one 10-place slot tomorrow, published by the bench."""
    from django.utils import timezone

    from huijia.volunteering.models import Activity, OrganiserKind, ServiceCategory, Slot

    start = timezone.now() + timedelta(days=1)
    activity = Activity.objects.create(
        title="报名压测活动",
        category=ServiceCategory.OTHER,
        organiser_kind=OrganiserKind.COMMUNITY,
        community=community,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
    )
    return Slot.objects.create(
        activity=activity,
        venue="压测广场",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        capacity=CAPACITY,
    )


def _drop_activity(slot) -> None:
    from huijia.accounts.models import AuditLog
    from huijia.volunteering.models import Activity, Enrolment

    ids = [str(pk) for pk in Enrolment.objects.filter(slot=slot).values_list("pk", flat=True)]
    AuditLog.objects.filter(target_type="volunteering.Enrolment", target_id__in=ids).delete()
    Activity.objects.filter(pk=slot.activity_id).delete()  # its slot and sign-ups go with it


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gunicorn(db_url: str, port: int) -> subprocess.Popen:
    from django.conf import settings

    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DJANGO_SETTINGS_MODULE": "huijia.settings",
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "HUIJIA_DATA_KEYS": ",".join(settings.HUIJIA_DATA_KEYS),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "HUIJIA_SECURE_SSL": "0",  # plain HTTP on the loopback, as behind a proxy
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "huijia.wsgi",
        f"--workers={WORKERS}",
        "--worker-class=gthread",
        f"--threads={THREADS}",
        f"--bind=127.0.0.1:{port}",
        "--log-level=warning",
    ]
    return subprocess.Popen(  # noqa: S603 (our own command line)
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def _request(port: int, path: str, key: str, method: str = "GET") -> tuple[int, float, dict]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=b"{}" if method == "POST" else None,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=30) as r:  # noqa: S310 (http to our own gunicorn)
            status, body = r.status, r.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except OSError as exc:  # refused, reset, timed out: an error answer
        return 0, time.perf_counter() - started, {"error": str(exc)}
    elapsed = time.perf_counter() - started
    try:
        return status, elapsed, json.loads(body or b"{}")
    except ValueError:
        return status, elapsed, {}


def _wait_until_up(port: int, key: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    status, body = 0, {}
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("gunicorn stopped: " + (proc.stderr.read() or b"").decode()[-2000:])
        status, _elapsed, body = _request(port, "/api/v1/volunteer/enrolments?limit=1", key)
        if status == 200:
            return
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within 30 s (last answer {status}: {body})")


def _warm_up(port: int, keys: list[str]) -> None:
    """Opens each worker thread's database connection and loads the code before the burst; every
    token is used once (a token's first use of the day records it, a write the burst need not wait on)."""
    with ThreadPoolExecutor(max_workers=WORKERS * THREADS) as pool:
        list(pool.map(lambda k: _request(port, "/api/v1/volunteer/enrolments?limit=1", k), keys))


def _burst(port: int, slot_id: int, keys: list[str]) -> list[tuple[int, float, dict]]:
    gate = threading.Barrier(len(keys))

    def one(key: str):
        gate.wait(timeout=30)
        return _request(port, f"/api/v1/volunteer/slots/{slot_id}/signup", key, method="POST")

    with ThreadPoolExecutor(max_workers=len(keys)) as pool:
        return list(pool.map(one, keys))


def run(db_url: str, *, keep_members: bool = True) -> dict:
    """Runs the burst against `db_url` (the database this process uses too) and reports it."""
    _django(db_url)
    from django.db import connection

    if connection.in_atomic_block:
        raise RuntimeError("run() needs committed rows (gunicorn reads them): call it outside a transaction")
    from huijia.volunteering.models import Enrolment, EnrolmentStatus

    community, household = _community()
    keys = _members(community, household)
    slot = _slot(community)
    port = _free_port()
    proc = _gunicorn(db_url, port)
    try:
        _wait_until_up(port, keys[0], proc)
        _warm_up(port, keys)
        started = time.perf_counter()
        answers = _burst(port, slot.pk, keys)
        wall = time.perf_counter() - started
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    statuses = [status for status, _e, _b in answers]
    latencies = sorted(e for _s, e, _b in answers)
    stored = Enrolment.objects.filter(slot=slot)
    slot.refresh_from_db()
    result = {
        "requests": len(answers),
        "capacity": CAPACITY,
        "confirmed": stored.filter(status=EnrolmentStatus.CONFIRMED).count(),
        "waitlisted": stored.filter(status=EnrolmentStatus.WAITLISTED).count(),
        "answered_confirmed": sum(1 for s, _e, b in answers if s == 201 and b.get("status") == "confirmed"),
        "errors": sum(1 for s in statuses if s != 201),
        "error_statuses": sorted({s for s in statuses if s != 201}),
        "max_latency_s": round(latencies[-1], 3),
        "p50_latency_s": round(latencies[len(latencies) // 2], 3),
        "wall_s": round(wall, 3),
        "all_within_2s": latencies[-1] <= TARGET_S,
        "slot_counters": [slot.confirmed, slot.waitlisted],
        "database": connection.vendor,
        "gunicorn": f"{WORKERS} workers × {THREADS} threads (gthread)",
    }
    _drop_activity(slot)
    if not keep_members:
        _drop_members()
    return result


def main() -> int:
    db_url = os.environ.get("DATABASE_URL")
    if not db_url:
        print('set DATABASE_URL (e.g. eval "$(scripts/ensure-postgres huijia_h1)")', file=sys.stderr)
        return 2
    result = run(db_url)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    ok = result["confirmed"] == CAPACITY and result["errors"] == 0 and result["all_within_2s"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
