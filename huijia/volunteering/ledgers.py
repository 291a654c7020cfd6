"""The volunteer service ledgers (台账) of a community for a period, generated from the records as
Excel workbooks in the layout of huijia/core/ledger.py (title, info line, header, numbered rows,
signature line; landscape A4).

- 志愿服务活动台账 (activity ledger): one row per activity held in the community in the period (not
  cancelled): 日期, 活动名称, 类型, 服务类别, 组织方, 地点, 报名人数 (confirmed places), 参加人数
  (service records that count), 服务时长, 服务群众人次. Joint activities of a pairing name the unit as
  organiser.
- 党员志愿服务台账 (member service ledger): one row per member, as the office files the per-member
  service card it sends back to the member's work unit: the members reporting to the community and
  anyone else who served there in the period, with their services there (date, content, hours, one per
  line), the totals and how many the served residents confirmed. Ordered by name, never by hours.
- The same member service ledger for a work unit (单位党员志愿服务台账): one row per member of the unit,
  with their service in any community in the period (date, community, content, hours), as the unit
  files it for its members' assessment. Downloaded by the unit's own organiser.

Only records that count are listed and counted (minimum.counted: closed, hours above zero); an open
check-in or a record of 0 hours is not a service. No phone or ID number is written. Who may download:
staff holding Perm.EXPORT or Perm.MANAGE_VOLUNTEERING over the community (community staff, street,
organisation department); for a unit's ledger, the same perms on the work unit (its organiser).
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import IO

from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, restrict
from huijia.accounts.services import audit
from huijia.core.errors import Forbidden, InvalidInput, NotFound
from huijia.core.ledger import write_ledger
from huijia.grid.models import Area, AreaKind
from huijia.members.models import Member
from huijia.orgs.models import WorkUnit
from huijia.volunteering.minimum import counted, period_bounds
from huijia.volunteering.models import Activity, ActivityStatus, ServiceRecord, Slot
from huijia.volunteering.records import RECORD_RELATED, organiser_label

LEDGER_PERMS = (Perm.EXPORT, Perm.MANAGE_VOLUNTEERING)
MAX_DAYS = 3 * 366

ACTIVITY_HEADER = (
    "序号",
    "日期",
    "活动名称",
    "类型",
    "服务类别",
    "组织方",
    "地点",
    "报名人数",
    "参加人数",
    "服务时长（小时）",
    "服务群众人次",
)
ACTIVITY_WIDTHS = (6, 22, 28, 10, 12, 20, 24, 10, 10, 12, 12)
MEMBER_HEADER = (
    "序号",
    "姓名",
    "志愿者编号",
    "工作单位",
    "服务次数",
    "服务时长（小时）",
    "服务记录（日期　内容　时长）",
    "居民确认（次）",
)
MEMBER_WIDTHS = (6, 12, 14, 24, 10, 12, 56, 12)
UNIT_MEMBER_HEADER = (
    "序号",
    "姓名",
    "志愿者编号",
    "报到社区",
    "服务次数",
    "服务时长（小时）",
    "服务记录（日期　社区　内容　时长）",
    "居民确认（次）",
)
UNIT_MEMBER_WIDTHS = (6, 12, 14, 20, 10, 12, 64, 12)


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    @property
    def label(self) -> str:
        return f"{_cn(self.first)}至{_cn(self.last)}"


def _cn(value: date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def check_period(first: date | None, last: date | None) -> Period:
    """This year up to today by default; the first day not after the last; at most three years."""
    today = timezone.localdate()
    first = first or date(today.year, 1, 1)
    last = last or today
    if first > last:
        message = _("起始日期不能晚于截止日期")
        raise InvalidInput(message, code="period_order", fields={"date_from": [message]})
    if (last - first).days > MAX_DAYS:
        message = _("一次最多导出三年的台账")
        raise InvalidInput(message, code="period_too_long", fields={"date_from": [message]})
    return Period(first, last)


def can_download(actor: Actor, community: Area) -> bool:
    return any(actor.covers(perm, community.path) for perm in LEDGER_PERMS)


def community_for_ledger(*, actor: Actor, community_id: int) -> Area:
    """The community whose ledgers the actor may download; Forbidden if they only see it, else NotFound."""
    community = restrict(Area.objects.filter(pk=community_id, kind=AreaKind.COMMUNITY), actor).first()
    if community is None:
        raise NotFound()
    if not can_download(actor, community):
        raise Forbidden(_("志愿服务台账由社区党委、街道和组织部门下载"))
    return community


def can_download_unit(actor: Actor, work_unit_id: int) -> bool:
    return actor.is_superuser or any(work_unit_id in actor.work_units(perm) for perm in LEDGER_PERMS)


def unit_for_ledger(*, actor: Actor, work_unit_id: int) -> WorkUnit:
    """The work unit whose member ledger the actor may download (its own organiser); Forbidden for
    staff who only see the unit, NotFound for anyone else."""
    unit = restrict(WorkUnit.objects.filter(pk=work_unit_id), actor).first()
    if unit is None:
        raise NotFound()
    if not can_download_unit(actor, unit.pk):
        raise Forbidden(_("单位党员志愿服务台账由该单位党组织下载"))
    return unit


def ledger_units(*, actor: Actor) -> list[WorkUnit]:
    """The work units whose member ledger the actor may download, for the console's picker."""
    ids = sorted({wid for perm in LEDGER_PERMS for wid in actor.work_units(perm)})
    return list(WorkUnit.objects.filter(pk__in=ids).order_by("name", "pk")) if ids else []


def ledger_communities(*, actor: Actor) -> list[Area]:
    """The communities whose ledgers the actor may download, for the console's picker."""
    from huijia.grid.selectors import community_choices

    return [c for c in community_choices(actor=actor) if can_download(actor, c)]


# --- the activity ledger ----------------------------------------------------------------------------


def activities_of(*, actor: Actor, community: Area, period: Period) -> list[Activity]:
    """Activities held in the community in the period, with their counts as subqueries: 2 queries."""
    start, end = period_bounds(period.first, period.last)
    records = ServiceRecord.objects.filter(counted(), activity=OuterRef("pk")).values("activity")
    places = Slot.objects.filter(activity=OuterRef("pk")).values("activity")
    number = IntegerField()
    return list(
        restrict(Activity.objects.filter(community=community), actor)
        .filter(starts_at__gte=start, starts_at__lt=end)
        .exclude(status=ActivityStatus.CANCELLED)
        .select_related("community", "estate", "service_team", "work_unit")
        .annotate(
            signed_up=Coalesce(
                Subquery(places.annotate(n=Sum("confirmed")).values("n"), output_field=number), 0
            ),
            attended=Coalesce(Subquery(records.annotate(n=Count("pk")).values("n"), output_field=number), 0),
            hours_total=Subquery(records.annotate(h=Sum("hours")).values("h")),
        )
        .prefetch_related(
            Prefetch("slots", queryset=Slot.objects.only("activity_id", "venue").order_by("pk"))
        )
        .order_by("starts_at", "pk")
    )


def _when(activity: Activity) -> str:
    first = timezone.localdate(activity.starts_at)
    last = timezone.localdate(activity.ends_at) if activity.ends_at else first
    if last == first:
        return _cn(first)
    if last.year == first.year:
        return f"{_cn(first)}至{last.month}月{last.day}日"
    return f"{_cn(first)}至{_cn(last)}"


def _venues(activity: Activity) -> str:
    return "、".join(dict.fromkeys(slot.venue for slot in activity.slots.all()))


def _activity_row(activity: Activity) -> tuple:
    return (
        _when(activity),
        activity.title,
        activity.get_kind_display(),
        activity.get_category_display(),
        organiser_label(activity),
        _venues(activity),
        activity.signed_up,
        activity.attended,
        float(activity.hours_total or 0),
        activity.people_served,
    )


@transaction.atomic
def export_activity_ledger(
    *, actor: Actor, community_id: int, date_from: date | None, date_to: date | None, dest: IO[bytes]
) -> tuple[Area, Period, int]:
    """Writes the community's activity ledger for the period into `dest`; audited."""
    community = community_for_ledger(actor=actor, community_id=community_id)
    period = check_period(date_from, date_to)
    activities = activities_of(actor=actor, community=community, period=period)
    count = write_ledger(
        dest,
        sheet_title=_("志愿服务活动台账"),
        title=_("{c}志愿服务活动台账").format(c=community.name),
        info=_("社区：{c}    时间：{p}    共 {n} 项活动，服务群众 {s} 人次").format(
            c=community.name, p=period.label, n=len(activities), s=sum(a.people_served for a in activities)
        ),
        header=ACTIVITY_HEADER,
        rows=(_activity_row(a) for a in activities),
        widths=ACTIVITY_WIDTHS,
        date_columns=(1,),
    )
    audit(
        actor=actor,
        action="ledger.volunteer_activities",
        target=community,
        period=f"{period.first}/{period.last}",
        rows=count,
    )
    return community, period, count


# --- the member service ledger ----------------------------------------------------------------------


@dataclass
class MemberLine:
    member: Member
    lines: list[str]
    services: int = 0
    hours: Decimal = Decimal("0.00")
    confirmed: int = 0


def _group(records, reporting, what) -> list[MemberLine]:
    """The records per member, one line each ("3月5日　<what>　2.00小时"), plus the members of
    `reporting` with no service; by name."""
    by_member: dict[int, MemberLine] = {}
    for record in records:
        line = by_member.get(record.member_id)
        if line is None:
            line = by_member[record.member_id] = MemberLine(member=record.member, lines=[])
        day = timezone.localdate(record.checked_in_at)
        line.lines.append(f"{day.month}月{day.day}日　{what(record)}　{record.hours:.2f}小时")
        line.services += 1
        line.hours += record.hours
        line.confirmed += record.resident_confirmed_at is not None
    for member in reporting.exclude(pk__in=list(by_member)):
        by_member[member.pk] = MemberLine(member=member, lines=[])
    return sorted(by_member.values(), key=lambda m: (m.member.name, m.member.pk))


def member_lines(*, actor: Actor, community: Area, period: Period) -> list[MemberLine]:
    """Per member: their services that count in the community in the period: 2 queries."""
    start, end = period_bounds(period.first, period.last)
    records = (
        restrict(ServiceRecord.objects.filter(community=community), actor)
        .filter(counted(), checked_in_at__gte=start, checked_in_at__lt=end)
        .select_related("member", "member__work_unit", *RECORD_RELATED)
        .order_by("checked_in_at", "pk")
    )
    reporting = restrict(Member.objects.filter(community=community), actor).select_related("work_unit")
    return _group(records, reporting, lambda r: r.activity.title)


def _member_row(line: MemberLine) -> tuple:
    member = line.member
    return (
        member.name,
        member.volunteer_no,
        member.work_unit.name if member.work_unit_id else "",
        line.services,
        float(line.hours),
        "\n".join(line.lines),
        line.confirmed,
    )


@transaction.atomic
def export_member_ledger(
    *,
    actor: Actor,
    community_id: int | None = None,
    work_unit_id: int | None = None,
    date_from: date | None,
    date_to: date | None,
    dest: IO[bytes],
) -> tuple[Area | WorkUnit, Period, int]:
    """Writes the member service ledger of a community, or of a work unit's members (exactly one of
    the two), for the period into `dest`; audited."""
    if (community_id is None) == (work_unit_id is None):
        message = _("请选择一个社区或一个单位")
        raise InvalidInput(message, code="choose_one", fields={"community": [message]})
    if work_unit_id is not None:
        return _export_unit_member_ledger(
            actor=actor, work_unit_id=work_unit_id, date_from=date_from, date_to=date_to, dest=dest
        )
    community = community_for_ledger(actor=actor, community_id=community_id)
    period = check_period(date_from, date_to)
    lines = member_lines(actor=actor, community=community, period=period)
    totals = defaultdict(Decimal)
    for line in lines:
        totals["services"] += line.services
        totals["hours"] += line.hours
    count = write_ledger(
        dest,
        sheet_title=_("党员志愿服务台账"),
        title=_("{c}党员志愿服务台账").format(c=community.name),
        info=_("社区：{c}    时间：{p}    {n} 名党员，共服务 {s} 次、{h} 小时").format(
            c=community.name,
            p=period.label,
            n=len(lines),
            s=int(totals["services"]),
            h=f"{totals['hours']:.2f}",
        ),
        header=MEMBER_HEADER,
        rows=(_member_row(line) for line in lines),
        widths=MEMBER_WIDTHS,
    )
    audit(
        actor=actor,
        action="ledger.volunteer_members",
        target=community,
        period=f"{period.first}/{period.last}",
        rows=count,
    )
    return community, period, count


# --- a work unit's member service ledger -------------------------------------------------------------


def unit_member_lines(*, actor: Actor, unit: WorkUnit, period: Period) -> list[MemberLine]:
    """Per member of the unit: their services that count, in any community, in the period, read
    through the ServiceRecord scope (a unit reaches its own members' records only); the unit's
    members who report to a community are listed even without a service: 2 queries."""
    start, end = period_bounds(period.first, period.last)
    records = (
        restrict(ServiceRecord.objects.filter(member__work_unit_id=unit.pk), actor)
        .filter(counted(), checked_in_at__gte=start, checked_in_at__lt=end)
        .select_related("member", "member__community", "community", *RECORD_RELATED)
        .order_by("checked_in_at", "pk")
    )
    reporting = restrict(
        Member.objects.filter(work_unit_id=unit.pk, community__isnull=False), actor
    ).select_related("community")
    return _group(records, reporting, lambda r: f"{r.community.name}　{r.activity.title}")


def _unit_member_row(line: MemberLine) -> tuple:
    member = line.member
    return (
        member.name,
        member.volunteer_no,
        member.community.name if member.community_id else "",
        line.services,
        float(line.hours),
        "\n".join(line.lines),
        line.confirmed,
    )


def _export_unit_member_ledger(
    *, actor: Actor, work_unit_id: int, date_from: date | None, date_to: date | None, dest: IO[bytes]
) -> tuple[WorkUnit, Period, int]:
    unit = unit_for_ledger(actor=actor, work_unit_id=work_unit_id)
    period = check_period(date_from, date_to)
    lines = unit_member_lines(actor=actor, unit=unit, period=period)
    services = sum(line.services for line in lines)
    hours = sum((line.hours for line in lines), Decimal("0.00"))
    count = write_ledger(
        dest,
        sheet_title=_("单位党员志愿服务台账"),
        title=_("{u}党员志愿服务台账").format(u=unit.name),
        info=_("单位：{u}    时间：{p}    {n} 名党员，在报到社区共服务 {s} 次、{h} 小时").format(
            u=unit.name, p=period.label, n=len(lines), s=services, h=f"{hours:.2f}"
        ),
        header=UNIT_MEMBER_HEADER,
        rows=(_unit_member_row(line) for line in lines),
        widths=UNIT_MEMBER_WIDTHS,
    )
    audit(
        actor=actor,
        action="ledger.volunteer_unit_members",
        target=unit,
        period=f"{period.first}/{period.last}",
        rows=count,
    )
    return unit, period, count
