"""`manage.py bench`: latency of real pages on city-scale data, next to the bare SQL for the same rows.

Measured (median and p95 over --runs after --warmup), each page through the real view with
`django.test.Client` signed in by `force_login`, with persistent database connections:

- the registration queue of one community, first page, as community staff (`members:queue`);
- a member's own page (`members:home`);
- the bare SQL that fetches what the page shows (`cursor.execute`, no ORM, no view): the queue's
  rows, their skills and their total; the member's profile, skills, history and notifications;
- an empty view behind the same client and middleware (signed-in, so it pays the session and user
  lookups every real page pays);
- the proposal of teams and zones (members.zoning) for a community of 600 members and 5,000
  households built in memory (no database), target under a second (issue 3); `--only-zoning` runs
  this part alone, on an empty database;
- residents' demands (issue 4, huijia.demands.bench): duplicate hints while a resident types in the
  busiest estate (p95 ≤ 100 ms), and the three rates of a street and of the city over a year from the
  rollups (p95 ≤ 50 ms each); `--skip-demands` leaves them out;
- volunteer service (issue 5, huijia.volunteering.bench): a member's service record page with over a
  hundred records (p95 ≤ 200 ms), the certificate PDF of those records (p95 ≤ 1 s), who is below the
  annual minimum in a community, as it is and grown to 600 members (p95 ≤ 50 ms), and 200 members
  signing up at once for 10 places through gunicorn (all answered within 2 s, exactly 10 confirmed);
  `--skip-volunteering` leaves them out, `--skip-signup-burst` only the burst.

Target (issue 2): each page within 2× of (its bare SQL + the empty view). Around every request the
command fires what a WSGI server fires (`close_old_connections`), so CONN_MAX_AGE and the connection
health check behave as in production. The results go to bench/results/<timestamp>.json.

This module is also the URLconf used while measuring: the project's URLs plus the empty view.
"""

import importlib
import importlib.util
import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import django
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connection
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import NoReverseMatch, include, path, reverse

from huijia.accounts.models import RoleGrant
from huijia.accounts.roles import Role
from huijia.accounts.selectors import RECENT as RECENT_NOTIFICATIONS
from huijia.core.personal import mask_name
from huijia.core.seeding.logins import BENCH_MEMBER, BENCH_STAFF
from huijia.demands import bench as demands_bench
from huijia.grid.models import Area
from huijia.members import bench_zoning
from huijia.members.models import Member
from huijia.members.selectors import PAGE_SIZE
from huijia.volunteering import bench as volunteering_bench

FACTOR = 2.0
EMPTY_URL = "__bench__/empty/"


@login_required
def empty_view(request):
    """The floor of a signed-in page: middleware, session and user, no work."""
    return HttpResponse(b"")


urlpatterns = [path(EMPTY_URL, empty_view), path("", include(settings.ROOT_URLCONF))]


# --- statistics (pure) -------------------------------------------------------------------------


def percentile(samples: list[float], pct: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least `pct`% of samples at or below it."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    return ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1]


def summarise(seconds: list[float]) -> dict[str, float]:
    """Median, p95, min and max in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "runs": len(ms),
        "median_ms": round(statistics.median(ms), 3),
        "p95_ms": round(percentile(ms, 95), 3),
        "min_ms": round(min(ms), 3),
        "max_ms": round(max(ms), 3),
    }


def verdict(page: dict, sql: dict, empty: dict, factor: float = FACTOR) -> dict:
    """Whether the page's median is within `factor`× (bare SQL median + empty view median)."""
    limit = factor * (sql["median_ms"] + empty["median_ms"])
    return {
        "limit_ms": round(limit, 3),
        "ratio": round(page["median_ms"] / (sql["median_ms"] + empty["median_ms"]), 2),
        "ok": page["median_ms"] <= limit,
    }


def measure(fn: Callable[[], object], runs: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


# --- the bare SQL of each page -----------------------------------------------------------------

QUEUE_SQL = """
    SELECT r.id, r.status, r.kind, r.submitted_at, r.resources, r.free_time,
           m.id, m.name, m.phone, m.volunteer_no, c.id, c.name,
           h.id, h.unit, h.floor, h.room, b.id, b.name, e.id, e.name, w.id, w.name
    FROM members_registration r
    JOIN members_member m ON m.id = r.member_id
    JOIN grid_area c ON c.id = r.community_id
    JOIN grid_household h ON h.id = r.household_id
    JOIN grid_area b ON b.id = h.building_id
    LEFT JOIN grid_area e ON e.id = b.parent_id
    LEFT JOIN orgs_workunit w ON w.id = r.work_unit_id
    WHERE r.community_id = %s AND r.status = 'pending' AND b.path LIKE %s
    ORDER BY r.submitted_at DESC, r.id DESC
    LIMIT %s
"""
QUEUE_COUNT_SQL = """
    SELECT count(*) FROM members_registration r
    JOIN grid_household h ON h.id = r.household_id
    JOIN grid_area b ON b.id = h.building_id
    WHERE r.community_id = %s AND r.status = 'pending' AND b.path LIKE %s
"""
NOTIFICATIONS_SQL = """
    SELECT n.id, n.text, n.url, n.created_at, n.read_at FROM accounts_notification n
    WHERE n.user_id = %s ORDER BY n.created_at DESC, n.id DESC LIMIT %s
"""
SKILLS_SQL = """
    SELECT x.{owner}, s.id, s.name FROM {table} x JOIN members_skill s ON s.id = x.skill_id
    WHERE x.{owner} IN ({ids})
"""
MEMBER_SQL = """
    SELECT m.id, m.name, m.phone, m.id_number, m.volunteer_no, m.card_token, m.resources, m.free_time,
           c.id, c.name, cp.id, cp.name, h.id, h.unit, h.floor, h.room, b.id, b.name, e.id, e.name,
           w.id, w.name, o.id, o.name
    FROM members_member m
    LEFT JOIN grid_area c ON c.id = m.community_id
    LEFT JOIN grid_area cp ON cp.id = c.parent_id
    LEFT JOIN grid_household h ON h.id = m.household_id
    LEFT JOIN grid_area b ON b.id = h.building_id
    LEFT JOIN grid_area e ON e.id = b.parent_id
    LEFT JOIN orgs_workunit w ON w.id = m.work_unit_id
    LEFT JOIN orgs_partyorg o ON o.id = m.registered_org_id
    WHERE m.id = %s
"""
HISTORY_SQL = """
    SELECT r.id, r.status, r.kind, r.submitted_at, r.reviewed_at, r.reject_reason, r.ended_at, c.id, c.name
    FROM members_registration r JOIN grid_area c ON c.id = r.community_id
    WHERE r.member_id = %s
    ORDER BY r.submitted_at DESC, r.id DESC
"""


def _skills(cursor, table: str, owner: str, ids: list[int]) -> list[tuple]:
    if not ids:
        return []
    sql = SKILLS_SQL.format(table=table, owner=owner, ids=", ".join(["%s"] * len(ids)))
    cursor.execute(sql, ids)
    return cursor.fetchall()


def queue_sql(community_id: int, scope_path: str, limit: int = PAGE_SIZE) -> tuple[list[tuple], int]:
    """The first page of a community's pending registrations, as staff holding `scope_path` see it,
    and their total (the page shows "共 N 条")."""
    with connection.cursor() as cursor:
        cursor.execute(QUEUE_COUNT_SQL, [community_id, scope_path + "%"])
        total = cursor.fetchone()[0]
        cursor.execute(QUEUE_SQL, [community_id, scope_path + "%", limit])
        rows = cursor.fetchall()
        _skills(cursor, "members_registration_skills", "registration_id", [r[0] for r in rows])
    return rows, total


def member_sql(member_id: int, user_id: int) -> tuple[tuple, list[tuple], list[tuple]]:
    """A member's profile, skills, registration history (newest first) and recent notifications."""
    with connection.cursor() as cursor:
        cursor.execute(MEMBER_SQL, [member_id])
        member = cursor.fetchone()
        _skills(cursor, "members_member_skills", "member_id", [member_id])
        cursor.execute(HISTORY_SQL, [member_id])
        history = cursor.fetchall()
        cursor.execute(NOTIFICATIONS_SQL, [user_id, RECENT_NOTIFICATIONS])
        notifications = cursor.fetchall()
    return member, history, notifications


# --- the command -------------------------------------------------------------------------------


class PartFailed(Exception):
    """One measured part cannot run (its view is missing, or shows something else)."""


class Command(BaseCommand):
    help = (
        "Measure the registration queue and a member's page against bare SQL (city-scale data), "
        "and the team and zone proposal for 600 members and 5,000 households."
    )

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=50)
        parser.add_argument("--warmup", type=int, default=5)
        parser.add_argument(
            "--seed", action="store_true", help="first run `seed --scale city --force`, timed"
        )
        parser.add_argument("--skip-import", action="store_true", help="skip huijia.core.bench_import")
        parser.add_argument("--skip-demands", action="store_true", help="skip the demands parts (issue 4)")
        parser.add_argument(
            "--skip-volunteering", action="store_true", help="skip the volunteer service parts (issue 5)"
        )
        parser.add_argument(
            "--skip-signup-burst", action="store_true", help="skip the 200 concurrent sign-ups (issue 5)"
        )
        parser.add_argument("--import-rows", type=int, default=100_000)
        parser.add_argument("--output-dir", default=str(Path(settings.BASE_DIR) / "bench" / "results"))
        parser.add_argument(
            "--only-zoning", action="store_true", help="time only the team and zone proposal (no database)"
        )

    def handle(self, *args, runs: int, warmup: int, seed: bool, skip_import: bool, **options):
        if runs < 1 or warmup < 0:
            raise CommandError("--runs must be at least 1 and --warmup at least 0")
        results: dict = {"started_at": datetime.now(UTC).isoformat(timespec="seconds"), "runs": runs}
        results["warmup"] = warmup
        results["zoning"] = self._zoning(runs, warmup)
        if options["only_zoning"]:
            self._print_zoning(results["zoning"])
            self.stdout.write(f"results written to {self._write(results, Path(options['output_dir']))}")
            return
        if seed:
            results["seed"] = self._seed()
        results["environment"] = _environment()
        parts, errors = self._pages(runs, warmup)
        if not options["skip_demands"]:
            results["demands"] = self._demands(runs, warmup, errors)
        if not options["skip_volunteering"]:
            results["volunteering"] = self._volunteering(
                runs, warmup, errors, signup=not options["skip_signup_burst"]
            )
        results["parts"], results["errors"] = parts, errors
        results["checks"] = _checks(parts)
        if not skip_import:
            results["import"] = self._import(options["import_rows"])
        out = self._write(results, Path(options["output_dir"]))
        self._print(results, out)
        if errors:
            raise CommandError("; ".join(f"{name}: {message}" for name, message in errors.items()))

    def _seed(self) -> dict:
        started = time.perf_counter()
        call_command("seed", scale="city", force=True, stdout=self.stdout, stderr=self.stderr)
        return {"seconds": round(time.perf_counter() - started, 2), "target_seconds": 60}

    def _pages(self, runs: int, warmup: int) -> tuple[dict, dict]:
        _persistent_connections()
        User = get_user_model()
        staff = User.objects.filter(username=BENCH_STAFF).first()
        member_user = User.objects.filter(username=BENCH_MEMBER).first()
        if staff is None or member_user is None:
            raise CommandError(
                "No benchmark users: run `manage.py seed --scale city` (make seed-city) first."
            )
        grant = RoleGrant.objects.select_related("area").get(user=staff, role=Role.COMMUNITY)
        member = Member.objects.only("id", "name", "user_id").get(user=member_user)
        parts: dict = {}
        errors: dict = {}
        with override_settings(ROOT_URLCONF=__name__, DEBUG=False, ALLOWED_HOSTS=["testserver"]):
            staff_client, member_client = Client(), Client()
            staff_client.force_login(staff)
            member_client.force_login(member_user)
            before = connection.connection
            parts["empty_view"] = summarise(
                measure(lambda: _get(staff_client, "/" + EMPTY_URL), runs, warmup)
            )
            jobs = {
                "queue": lambda: self._queue(staff_client, grant.area, runs, warmup),
                "member_page": lambda: self._member_page(member_client, member, runs, warmup),
            }
            for name, job in jobs.items():
                try:
                    parts.update(job())
                except PartFailed as exc:
                    errors[name] = str(exc)
            parts["connection_reused"] = connection.connection is before
        return parts, errors

    def _queue(self, client: Client, community: Area, runs: int, warmup: int) -> dict:
        rows, _total = queue_sql(community.pk, community.path)
        url = _reverse("members:queue") + f"?community={community.pk}"
        _expect(client, url, rows[0][7] if rows else None, f"the newest pending registrant of {community}")
        return {
            "queue": {
                "url": url,
                "rows": len(rows),
                **summarise(measure(lambda: _get(client, url), runs, warmup)),
            },
            "queue_sql": summarise(measure(lambda: queue_sql(community.pk, community.path), runs, warmup)),
        }

    def _member_page(self, client: Client, member: Member, runs: int, warmup: int) -> dict:
        url = _reverse("members:home")
        _expect(client, url, member.name, "the member's own name")
        return {
            "member_page": {"url": url, **summarise(measure(lambda: _get(client, url), runs, warmup))},
            "member_sql": summarise(measure(lambda: member_sql(member.pk, member.user_id), runs, warmup)),
        }

    def _demands(self, runs: int, warmup: int, errors: dict) -> dict:
        """Duplicate hints while typing and the three rates (huijia.demands.bench), signed out like a
        resident at the building's QR form, with the same persistent connection as the pages."""
        _persistent_connections()
        with override_settings(ROOT_URLCONF=__name__, DEBUG=False, ALLOWED_HOSTS=["testserver"]):
            try:
                return demands_bench.run(lambda fn: summarise(measure(fn, runs, warmup)), Client(), _post)
            except (demands_bench.DemandsPartFailed, PartFailed) as exc:
                errors["demands"] = str(exc)
                return {}

    def _volunteering(self, runs: int, warmup: int, errors: dict, *, signup: bool) -> dict:
        """The member's record, the certificate PDF, the below-minimum list and the sign-up burst
        (huijia.volunteering.bench); a part that cannot run is reported in `errors`."""
        _persistent_connections()
        with override_settings(ROOT_URLCONF=__name__, DEBUG=False, ALLOWED_HOSTS=["testserver"]):
            try:
                parts, failures = volunteering_bench.run(
                    lambda fn: summarise(measure(fn, runs, warmup)), _get, signup=signup
                )
            except (volunteering_bench.VolunteeringPartFailed, PartFailed) as exc:
                errors["volunteering"] = str(exc)
                return {}
        errors.update({f"volunteering {name}": message for name, message in failures.items()})
        return parts

    def _zoning(self, runs: int, warmup: int) -> dict:
        """Teams and zones for 600 members and 5,000 households, in memory: median under a second."""
        facts, samples = bench_zoning.run(runs=runs, warmup=warmup)
        part = {**facts, **summarise(samples), "target_ms": bench_zoning.TARGET_MS}
        part["ok"] = part["median_ms"] < bench_zoning.TARGET_MS and facts["covered_once"]
        return part

    def _print_zoning(self, part: dict) -> None:
        mark = "OK " if part["ok"] else "MISS"
        self.stdout.write(
            f"{mark} zoning proposal ({part['members']} members, {part['households']} households, "
            f"{part['teams']} teams): median {part['median_ms']:.2f} ms, p95 {part['p95_ms']:.2f} ms, "
            f"target < {part['target_ms']:.0f} ms"
        )

    def _import(self, rows: int) -> dict:
        if importlib.util.find_spec("huijia.core.bench_import") is None:
            return {"skipped": "huijia.core.bench_import does not exist yet"}
        module = importlib.import_module("huijia.core.bench_import")
        started = time.perf_counter()
        try:
            outcome = module.run(rows)
        except Exception as exc:  # report and keep the page results
            return {"error": f"{type(exc).__name__}: {exc}"}
        result = {"rows": rows, "seconds": round(time.perf_counter() - started, 2)}
        try:
            json.dumps(outcome)
            result["result"] = outcome
        except TypeError:
            result["result"] = repr(outcome)
        return result

    def _write(self, results: dict, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        out = directory / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
        out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
        return out

    def _print(self, results: dict, out: Path) -> None:
        parts, write = results["parts"], self.stdout.write
        if "seed" in results:
            write(f"seed --scale city: {results['seed']['seconds']:.1f} s (target ≤ 60 s)")
        write(f"{'part':<34}{'median ms':>11}{'p95 ms':>10}")
        for key, label in LABELS.items():
            if key in parts:
                write(f"{label:<34}{parts[key]['median_ms']:>11.2f}{parts[key]['p95_ms']:>10.2f}")
        for page, check in results["checks"].items():
            mark = "OK " if check["ok"] else "MISS"
            write(
                f"{mark} {page}: median {parts[page]['median_ms']:.2f} ms, limit {check['limit_ms']:.2f} ms "
                f"= 2 × (SQL + empty view); {check['ratio']:.2f}× (SQL + empty)"
            )
        if "zoning" in results:
            self._print_zoning(results["zoning"])
        for line in demands_bench.lines(results.get("demands", {})):
            write(line)
        for line in volunteering_bench.lines(results.get("volunteering", {})):
            write(line)
        for name, message in results["errors"].items():
            write(f"FAIL {name}: {message}")
        if "import" in results:
            write(f"import: {json.dumps(results['import'], ensure_ascii=False)}")
        write(f"results written to {out}")


LABELS = {
    "queue": "registration queue (view)",
    "queue_sql": "registration queue (bare SQL)",
    "member_page": "member's own page (view)",
    "member_sql": "member's own page (bare SQL)",
    "empty_view": "empty view (same client)",
}


def _checks(parts: dict) -> dict:
    checks = {}
    for page, sql in (("queue", "queue_sql"), ("member_page", "member_sql")):
        if page in parts and sql in parts:
            checks[page] = verdict(parts[page], parts[sql], parts["empty_view"])
    return checks


def _get(client: Client, url: str):
    """One request as a WSGI server would run it, including the connection bookkeeping signals."""
    close_old_connections()
    response = client.get(url)
    close_old_connections()
    if response.status_code != 200:
        raise PartFailed(f"GET {url} answered {response.status_code}")
    return response


def _post(client: Client, url: str, data: dict):
    """One form post as a WSGI server would run it (see _get)."""
    close_old_connections()
    response = client.post(url, data)
    close_old_connections()
    if response.status_code != 200:
        raise PartFailed(f"POST {url} answered {response.status_code}")
    return response


def _reverse(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        raise PartFailed(f"URL name {name!r} does not exist yet") from None


def _expect(client: Client, url: str, name: str | None, what: str) -> None:
    """Refuses to time a page that does not show the rows it is meant to (a placeholder view)."""
    html = _get(client, url).content.decode()
    if name is None:
        raise PartFailed(f"no rows to show at {url}: is the database seeded at city scale?")
    if name not in html and mask_name(name) not in html:
        raise PartFailed(
            f"GET {url} does not show {what} ({mask_name(name)}): is the view still a placeholder?"
        )


def _persistent_connections() -> None:
    """Keeps database connections across requests (CONN_MAX_AGE > 0), as production does."""
    if connection.settings_dict.get("CONN_MAX_AGE", 0) == 0:  # None means "forever"
        connection.close()
        connection.settings_dict["CONN_MAX_AGE"] = 600


def _environment() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()" if connection.vendor == "postgresql" else "SELECT sqlite_version()")
        server = cursor.fetchone()[0]
    return {
        "database": connection.vendor,
        "database_version": server,
        "conn_max_age": connection.settings_dict.get("CONN_MAX_AGE"),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "households": _count("grid_household"),
        "members": _count("members_member"),
    }


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
        return cursor.fetchone()[0]
