"""The annual minimum of volunteer service (S2: at least two services a year) and its reminders.

The minimum is set per city (VolunteerPolicy; a city without a row uses the defaults: 2 services,
reminders from 45 days before the year ends). A service counts once its record is closed with hours
above zero (`counted`: the one definition used by the standing, the below-minimum list, the
reminders, certificates and ledgers), in the year the member checked in. The organisation department
of the city sets its policy (Perm.MANAGE_POLICY: `set_policy`, audited). A member sees only their
own standing; the community and the member's work unit see who is below the minimum
(records.below_minimum); nothing is ranked.

`send_minimum_reminders` is the reminder service the background job (volunteering.tasks) runs daily:
from `remind_days_before_year_end` days before 31 December, each reporting member still below the
minimum is told once a year (a MinimumReminder row is the proof, unique per member and year).
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor
from huijia.accounts.services import audit, notify
from huijia.core.errors import Forbidden, InvalidInput, NotFound
from huijia.grid.models import Area, AreaKind
from huijia.members.models import Member
from huijia.volunteering.models import (
    DEFAULT_ANNUAL_MINIMUM,
    DEFAULT_REMIND_DAYS,
    MinimumReminder,
    VolunteerPolicy,
)

REMINDER_BATCH = 500
MINIMUM_RANGE = (1, 52)  # at most one service a week
REMIND_RANGE = (1, 180)  # days before 31 December


@dataclass(frozen=True)
class Policy:
    annual_minimum: int = DEFAULT_ANNUAL_MINIMUM
    remind_days: int = DEFAULT_REMIND_DAYS

    def reminds_on(self, today: date) -> bool:
        """Whether `today` falls in the reminder season: from so many days before 31 December."""
        return today >= date(today.year, 12, 31) - timedelta(days=self.remind_days)


DEFAULT_POLICY = Policy()


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The year as [1 January 00:00, next 1 January 00:00) in the site's time zone."""
    tz = timezone.get_current_timezone()
    return datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)


def period_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """Whole days from `first` to `last` inclusive, in the site's time zone."""
    tz = timezone.get_current_timezone()
    start = datetime(first.year, first.month, first.day, tzinfo=tz)
    after = last + timedelta(days=1)
    return start, datetime(after.year, after.month, after.day, tzinfo=tz)


def counted(prefix: str = "") -> Q:
    """The one definition of a service that counts (annual minimum, reminders, certificates, ledger
    counts): the record is closed with hours above zero. An open check-in (no hours yet) and a record
    of 0 hours (checked in and out before the slot began, or a correction to 0) do not count."""
    return Q(**{f"{prefix}hours__gt": 0})


def counts(record) -> bool:
    """`counted` for a record already fetched."""
    return record.hours is not None and record.hours > Decimal(0)


def closed_in(prefix: str, start: datetime, end: datetime) -> Q:
    """The records that count (`counted`) checked in within [start, end)."""
    return counted(prefix) & Q(**{f"{prefix}checked_in_at__gte": start, f"{prefix}checked_in_at__lt": end})


def city_id_of(area: Area | None) -> int | None:
    """The city above an area: the root of its path (the tree starts at the city)."""
    if area is None:
        return None
    ids = area.ancestor_ids()
    return ids[0] if ids else None


def _policy(row: VolunteerPolicy | None) -> Policy:
    if row is None:
        return DEFAULT_POLICY
    return Policy(annual_minimum=row.annual_minimum, remind_days=row.remind_days_before_year_end)


def policy_for(community: Area | None) -> Policy:
    """The policy of the community's city, or the defaults (1 query, none without a community)."""
    city_id = city_id_of(community)
    if city_id is None:
        return DEFAULT_POLICY
    return _policy(VolunteerPolicy.objects.filter(city_id=city_id).first())


def all_policies() -> dict[int, Policy]:
    """Every city's policy by city id (one row per city: a small table), 1 query."""
    return {row.city_id: _policy(row) for row in VolunteerPolicy.objects.all()}


# --- setting a city's policy ---------------------------------------------------------------------------


def policy_cities(*, actor: Actor) -> list[Area]:
    """The cities whose policy the actor may read: those holding any of the actor's area grants (or
    every city for a superuser), by name. No query beyond the cities themselves."""
    cities = Area.objects.filter(kind=AreaKind.CITY).order_by("name", "pk")
    if actor.is_superuser:
        return list(cities)
    paths = {path for _role, path in actor.area_grants}
    return [c for c in cities if any(p.startswith(c.path) for p in paths)]


def can_set_policy(actor: Actor, city: Area) -> bool:
    return actor.covers(Perm.MANAGE_POLICY, city.path)


def city_for_policy(*, actor: Actor, city_id: int | None) -> Area:
    """A city whose policy the actor may read (one they work in); NotFound for any other id."""
    city = next((c for c in policy_cities(actor=actor) if c.pk == city_id), None)
    if city is None:
        raise NotFound(_("没有找到这个市"))
    return city


def policy_of_city(*, actor: Actor, city_id: int | None) -> tuple[Area, Policy]:
    """A city's policy (its row or the defaults), for staff who work in the city."""
    city = city_for_policy(actor=actor, city_id=city_id)
    return city, _policy(VolunteerPolicy.objects.filter(city_id=city.pk).first())


def _check_range(value, bounds: tuple[int, int], field: str, message: str, code: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not bounds[0] <= value <= bounds[1]:
        raise InvalidInput(message, code=code, fields={field: [message]})
    return value


def set_policy(*, actor: Actor, city_id: int | None, annual_minimum, remind_days) -> Policy:
    """Sets the city's annual minimum (1–52 services) and when reminders start (1–180 days before
    31 December): the city's organisation department only (Perm.MANAGE_POLICY over the city; a
    community's grant never covers its city). One transaction, the row locked, audited with the old
    and new values."""
    city = city_for_policy(actor=actor, city_id=city_id)
    if not can_set_policy(actor, city):
        raise Forbidden(_("志愿服务的年度要求由市委组织部设置"))
    minimum = _check_range(
        annual_minimum,
        MINIMUM_RANGE,
        "annual_minimum",
        _("每年至少服务次数请填 1 到 52 之间的整数"),
        "bad_minimum",
    )
    days = _check_range(
        remind_days, REMIND_RANGE, "remind_days", _("提醒时间请填年底前 1 到 180 天"), "bad_remind_days"
    )
    with transaction.atomic():
        row, _created = VolunteerPolicy.objects.select_for_update().get_or_create(city=city)
        before = {"annual_minimum": row.annual_minimum, "remind_days": row.remind_days_before_year_end}
        row.annual_minimum, row.remind_days_before_year_end = minimum, days
        row.save(update_fields=["annual_minimum", "remind_days_before_year_end"])
        audit(
            actor=actor,
            action="volunteer.policy_set",
            target=city,
            before=before,
            after={"annual_minimum": minimum, "remind_days": days},
        )
    return _policy(row)


# --- reminders -------------------------------------------------------------------------------------


def _reminder_text(done: int, minimum: int) -> str:
    return _(
        "温馨提示：今年您已参加志愿服务{done}次，每年至少{minimum}次。年底前如有空闲，"
        "可以看看社区近期的志愿活动；确有困难的，也可以和社区说明。"
    ).format(done=done, minimum=minimum)


def _still_below(city: Area, policy: Policy, year: int) -> list[tuple[int, int, int]]:
    """(member id, user id, services this year) of the city's reporting members below the minimum
    who have not been reminded this year: one aggregate query."""
    start, end = year_bounds(year)
    reminded = MinimumReminder.objects.filter(year=year).values("member_id")
    return list(
        Member.objects.filter(community__path__startswith=city.path, user__isnull=False)
        .exclude(pk__in=reminded)
        .annotate(services=Count("service_records", filter=closed_in("service_records__", start, end)))
        .filter(services__lt=policy.annual_minimum)
        .order_by("pk")
        .values_list("pk", "user_id", "services")
    )


def _remind_batch(batch: list[tuple[int, int, int]], year: int, minimum: int) -> int:
    """Reminds one batch in one transaction. The members' rows are locked first and the reminders
    re-read under the lock, so two runs at once never tell anyone twice."""
    url = reverse("volunteering:records")
    with transaction.atomic():
        ids = [member_id for member_id, _user, _n in batch]
        list(Member.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))
        done = set(
            MinimumReminder.objects.filter(year=year, member_id__in=ids).values_list("member_id", flat=True)
        )
        fresh = [row for row in batch if row[0] not in done]
        MinimumReminder.objects.bulk_create([MinimumReminder(member_id=m, year=year) for m, _u, _n in fresh])
        for _member, user_id, services in fresh:
            notify(user_id=user_id, text=_reminder_text(services, minimum), url=url)
    return len(fresh)


def send_minimum_reminders(*, today: date | None = None) -> dict[str, int]:
    """Tells every reporting member still below the minimum, once a year, in the reminder season of
    their city. Returns how many were reminded and in how many cities the season is open."""
    today = today or timezone.localdate()
    policies = all_policies()
    reminded = cities = 0
    for city in Area.objects.filter(kind=AreaKind.CITY).order_by("pk"):
        policy = policies.get(city.pk, DEFAULT_POLICY)
        if not policy.reminds_on(today):
            continue
        cities += 1
        rows = _still_below(city, policy, today.year)
        sent = sum(
            _remind_batch(rows[i : i + REMINDER_BATCH], today.year, policy.annual_minimum)
            for i in range(0, len(rows), REMINDER_BATCH)
        )
        if sent:
            with transaction.atomic():
                audit(
                    actor=None, action="volunteer.minimum_reminders", target=city, year=today.year, sent=sent
                )
        reminded += sent
    return {"reminded": reminded, "cities": cities}
