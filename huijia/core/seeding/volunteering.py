"""A year of volunteer service (志愿服务, issue 5) for a generated world.

For every community: service teams (about one community in five at city scale), pairings with work
units (结对共建: most communities paired, a few not, some units with no partner), and a year of
activities, service posts (recurring shifts) and tasks, published by the community, an estate branch,
a service team or a paired work unit, spread over the last 365 days and the next two weeks. Each
member who reports in a community draws how many times they served this year (about three on
average, roughly one in four below the annual minimum of two) and signs up for that many slots; past
slots turn sign-ups into service records (roll call or QR check-in, a few no-shows), future ones keep
confirmed places and waitlists. Slot counters equal the sign-ups, confirmed never exceeds capacity,
every record lies within its slot, and no certificate is issued (members issue their own).

The demo adds its showcase on the first community (识字岭社区): a teachers' team with nine service
areas, an activity of every organiser kind and every kind in the coming days, a full slot with a
waitlist, an activity under way with open check-ins, a cancelled one, pending hours corrections,
residents' confirmations, the demo member (dangyuan) with six records this year and places signed up
for, and a member below the minimum. At city scale the benchmark member gets over a hundred records.

Rows are planned in memory with ids assigned here and written by the loader like every other table
(COPY on PostgreSQL); a city's 250,000 records and sign-ups plan in a few seconds.
"""

import json
import math
import secrets
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from random import Random

from django.utils import timezone

from huijia.core.seeding.generator import Table, World
from huijia.volunteering.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    AttendanceMethod,
    Audience,
    CorrectionStatus,
    Enrolment,
    EnrolmentStatus,
    HoursCorrection,
    OrganiserKind,
    Pairing,
    ServiceCategory,
    ServiceRecord,
    ServiceTeam,
    ServiceTeamMember,
    Slot,
    VolunteerPolicy,
)

ANNUAL_MINIMUM = 2
# how many times a member served over the year, and how often (mean 3.1; 28% below the minimum of 2)
SERVICE_COUNTS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 10)
SERVICE_WEIGHTS = (12, 16, 18, 16, 13, 9, 7, 4, 3, 2)
BENCH_RECORDS = 120  # the benchmark member's records over the year (the record page and certificate)
SHOW_RATE = 0.92  # confirmed sign-ups of a past slot who came
CONFIRM_RATE = 0.12  # records a served resident confirmed
HOUR = timedelta(hours=1)
CATEGORY = ServiceCategory

# (category, title, description) per kind
ACTIVITIES = (
    (
        CATEGORY.PARTY_DAY,
        "主题党日：重温入党誓词",
        "集中重温入党誓词，交流在社区服务中的体会，随后分组走访。",
    ),
    (
        CATEGORY.PARTY_DAY,
        "主题党日：党史学习进社区",
        "在党群服务中心集中学习，结束后为居民讲解身边的红色故事。",
    ),
    (CATEGORY.ENVIRONMENT, "清理楼道小广告", "带上手套和铲刀，分组清理各栋楼道和单元门口的小广告。"),
    (CATEGORY.ENVIRONMENT, "小区环境大扫除", "清理绿化带垃圾、卫生死角和乱堆乱放，工具由社区提供。"),
    (CATEGORY.ENVIRONMENT, "垃圾分类督导", "在垃圾投放点引导居民分类投放，记录常见问题。"),
    (CATEGORY.ELDERLY, "为高龄老人上门理发", "两人一组上门为行动不便的高龄老人理发，请自带围布。"),
    (CATEGORY.ELDERLY, "陪伴空巢老人", "上门陪老人聊天，帮忙检查水电燃气，了解生活上的困难。"),
    (CATEGORY.CHILDREN, "周末课业辅导", "为双职工家庭的孩子辅导作业，小学、初中各科都需要。"),
    (CATEGORY.CHILDREN, "青少年防溺水安全教育", "给社区的孩子讲防溺水知识，发放宣传资料。"),
    (CATEGORY.HEALTH, "社区义诊", "测血压、测血糖、健康咨询，医务工作者优先报名。"),
    (CATEGORY.REPAIR, "便民维修服务", "小家电、水电、自行车维修，会一门手艺的都欢迎。"),
    (CATEGORY.CIVILITY, "文明养犬劝导", "在小区出入口和广场劝导文明养犬，发放宣传单。"),
    (CATEGORY.SAFETY, "夜间治安巡逻", "两人一组沿小区巡逻，留意电动车违规充电和消防通道堵塞。"),
    (CATEGORY.SAFETY, "防诈骗宣传", "在小区广场摆摊宣传防诈骗知识，帮老人安装反诈软件。"),
)
POSTS = (
    (CATEGORY.OPINION, "社情民意收集岗", "在党群服务中心值守，听取居民意见建议，当场登记，能办的当场办。"),
    (CATEGORY.FESTIVAL, "节日值守服务岗", "节假日在小区出入口值守，提醒防火防盗，帮助有需要的居民。"),
    (CATEGORY.CIVILITY, "文明交通劝导岗", "上下学时段在路口引导学生和家长有序通行。"),
    (CATEGORY.REPAIR, "技能服务岗：便民维修", "每周固定时段在服务中心提供维修服务。"),
)
TASKS = (
    (CATEGORY.EMERGENCY, "疫苗接种现场引导", "在接种点引导居民排队、填表，照顾老人。"),
    (CATEGORY.EMERGENCY, "防汛值守任务认领", "汛期夜间在低洼地段值守，发现积水及时报告。"),
    (CATEGORY.SAFETY, "冬季消防安全入户宣传", "每人认领若干户，上门讲解冬季用火用电安全。"),
)
VENUES = ("社区党群服务中心", "社区文化活动室", "{estate}中心广场", "{estate}北门", "{estate}{n}栋楼下")
TEAMS = (
    ("党员先锋服务队", ["环境整治", "治安巡逻", "文明宣传"]),
    ("银发关爱服务队", ["助老助残", "上门探访", "代购代办"]),
    ("便民维修服务队", ["水电维修", "家电维修", "自行车维修"]),
    ("医疗健康服务队", ["义诊", "健康讲座", "心理疏导"]),
    ("法律服务队", ["法律咨询", "矛盾调解"]),
)
TEACHERS = (
    "教师志愿服务队",
    [
        "课业辅导", "家庭教育指导", "心理疏导", "书法培训", "科普讲座", "安全教育", "阅读推广",
        "艺术启蒙", "普通话推广",
    ],
)  # fmt: skip
COMMITMENTS = (
    "每季度开展一次共建活动",
    "单位在职党员每年到社区服务不少于两次",
    "开放单位会议室供社区议事使用",
    "结对帮扶困难家庭两户",
    "协助社区解决一件群众急难愁盼问题",
)
RESIDENT_COMMENTS = ("服务很耐心，谢谢！", "来得很及时，帮了大忙", "", "辛苦了", "很满意")
CORRECTION_REASONS = (
    "签到时手机没电，实际全程参加",
    "签退忘记扫码，活动结束才离开",
    "现场点名时在楼上入户，没有被点到",
)


class VolunteerPlanner:
    """Plans the volunteering rows of one world; `tables()` gives them in load order."""

    def __init__(self, world: World):
        self.world = world
        self.rng = Random(world.scale.seed + 11)
        self.tz = timezone.get_default_timezone()
        self.now = world.now
        self.today = timezone.localtime(self.now, self.tz).date()
        self.names = {a[0]: a[3] for a in world.areas}
        self.demo = world.scale.name == "demo"
        self.members_of: dict[int, list[int]] = defaultdict(list)  # community index -> reporting members
        for story in world.stories:
            approved = story.approved
            if approved:
                self.members_of[approved[0]].append(story.member_id)
        self.teams: list[list] = []
        self.team_members: list[tuple] = []
        self.teams_of: dict[int, list[int]] = defaultdict(list)  # community id -> team ids
        self.pairings: list[tuple] = []
        self.pairings_of: dict[int, list[tuple[int, int]]] = defaultdict(list)  # community -> (id, unit)
        self.activities: list[list] = []
        self.slots: list[list] = []
        self.enrolments: list[tuple] = []
        self.records: list[tuple] = []
        self.corrections: list[tuple] = []
        self.enrolled: set[tuple[int, int]] = set()  # (slot index, member) with an active sign-up
        self.bench: int | None = None

    # --- building blocks ---------------------------------------------------------------------------

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=self.tz)

    def venue(self, community_id: int, estate_id: int | None = None) -> str:
        estates = self.world.estates[community_id]
        estate = self.names[estate_id or estates[int(self.rng.random() * len(estates))]]
        template = VENUES[int(self.rng.random() * len(VENUES))]
        return template.format(estate=estate, n=1 + int(self.rng.random() * 8))

    def activity(
        self,
        kind: str,
        text: tuple,
        community_id: int,
        organiser: str = OrganiserKind.COMMUNITY,
        *,
        estate_id: int | None = None,
        team_id: int | None = None,
        pairing: tuple[int, int] | None = None,
        audience: str = Audience.OPEN,
        status: str | None = None,
        title: str | None = None,
    ) -> int:
        """A new activity (its times and status follow from its slots); returns its index."""
        category, default_title, description = text
        self.activities.append(
            [
                len(self.activities) + 1, kind, title or default_title, description, category, organiser,
                community_id, estate_id, team_id, pairing[1] if pairing else None,
                pairing[0] if pairing else None, audience, status, 0, None, None, None,
            ]
        )  # fmt: skip
        return len(self.activities) - 1

    def slot(self, activity: int, start: datetime, hours: float, capacity: int, venue: str, label=""):
        """A new slot of `activity` (index); returns its index."""
        end = start + timedelta(hours=hours)
        row = self.activities[activity]
        created = min(start - timedelta(days=3, hours=self.rng.random() * 96), self.now - HOUR)
        row[14] = created if row[14] is None else min(row[14], created)
        row[15] = start if row[15] is None else min(row[15], start)
        row[16] = end if row[16] is None else max(row[16], end)
        self.slots.append(
            [len(self.slots) + 1, row[0], venue, label, start, end, capacity, 0, 0, secrets.token_urlsafe(24)]
        )
        return len(self.slots) - 1

    def enrol(self, slot: int, member: int, status: str = EnrolmentStatus.CONFIRMED, when=None) -> None:
        row = self.slots[slot]
        if (slot, member) in self.enrolled:
            return
        if status == EnrolmentStatus.CONFIRMED and row[7] >= row[6]:
            status = EnrolmentStatus.WAITLISTED
        if when is None:  # between the activity's publication and the slot's start (or now)
            published = self.activities[row[1] - 1][14]
            when = published + (min(row[4], self.now) - published) * (0.05 + 0.9 * self.rng.random())
        created = when
        self.enrolments.append((len(self.enrolments) + 1, row[0], member, status, created, created))
        if status == EnrolmentStatus.CONFIRMED:
            row[7] += 1
        elif status == EnrolmentStatus.WAITLISTED:
            row[8] += 1
        if status != EnrolmentStatus.CANCELLED:
            self.enrolled.add((slot, member))

    def record(
        self,
        slot: int,
        member: int,
        *,
        method: str = AttendanceMethod.ROLL_CALL,
        late_minutes: int = 0,
        open_: bool = False,
        confirmed_by_resident: bool | None = None,
        minutes: int | None = None,
    ) -> int:
        """A service record of a confirmed sign-up: at roll call the slot's length, by QR the overlap of
        check-in and check-out with the slot (`minutes` after check-in for a task's claim); open
        (checked in, no hours yet) when `open_`."""
        s = self.slots[slot]
        start, end = s[4], s[5]
        checked_in = start + timedelta(minutes=late_minutes)
        checked_out = hours = None
        if not open_:
            checked_out = end if method == AttendanceMethod.ROLL_CALL else end - timedelta(minutes=5)
            if minutes is not None:  # a task's claim: a few hours of a long slot
                checked_out = min(checked_in + timedelta(minutes=minutes), checked_out)
            seconds = (min(checked_out, end) - max(checked_in, start)).total_seconds()
            hours = Decimal(max(seconds, 0) / 3600).quantize(Decimal("0.01"))
        confirmed_at, comment = None, ""
        if confirmed_by_resident is None:
            confirmed_by_resident = not open_ and self.rng.random() < CONFIRM_RATE
        if confirmed_by_resident and checked_out is not None:
            confirmed_at = min(checked_out + timedelta(hours=1 + self.rng.random() * 48), self.now)
            comment = RESIDENT_COMMENTS[int(self.rng.random() * len(RESIDENT_COMMENTS))]
        activity = self.activities[s[1] - 1]
        self.records.append(
            (
                len(self.records) + 1, member, s[0], s[1], activity[6], method, checked_in, checked_out,
                hours, None, checked_out or checked_in, secrets.token_urlsafe(16), confirmed_at, comment,
            )
        )  # fmt: skip
        return len(self.records)

    def correction(self, record: int, hours: Decimal, status: str = CorrectionStatus.PENDING) -> None:
        r = self.records[record - 1]
        asked = r[7] + timedelta(hours=2 + self.rng.random() * 20)
        decided = answer = None
        if status != CorrectionStatus.PENDING:
            decided = asked + timedelta(hours=3)
            answer = (
                "已核实，同意更正" if status == CorrectionStatus.APPROVED else "签到记录显示提前离开，未同意"
            )
        reason = CORRECTION_REASONS[int(self.rng.random() * len(CORRECTION_REASONS))]
        self.corrections.append(
            (len(self.corrections) + 1, record, hours, reason, status, asked, None, decided, answer or "")
        )

    def team(self, community_id: int, name: str, areas: list[str], members: list[int], leaders: int = 1):
        team_id = len(self.teams) + 1
        created = self.now - timedelta(days=400 + int(self.rng.random() * 400))
        description = f"由报到党员组成，服务领域：{'、'.join(areas)}。"
        self.teams.append(
            [team_id, community_id, name, description, json.dumps(areas, ensure_ascii=False), None, created]
        )
        for i, member in enumerate(members):
            joined = created + timedelta(days=int(self.rng.random() * 300))
            self.team_members.append((len(self.team_members) + 1, team_id, member, i < leaders, joined, None))
        self.teams_of[community_id].append(team_id)
        return team_id

    def pair(self, unit_id: int, community_id: int, *, ended: bool = False) -> None:
        starts = self.today - timedelta(days=200 + int(self.rng.random() * 700))
        picks = self.rng.sample(COMMITMENTS, 3)
        ended_at = ends_on = None
        if ended:
            ends_on = self.today - timedelta(days=30 + int(self.rng.random() * 100))
            ends_on = max(ends_on, starts)
            ended_at = self.at(ends_on, 17)
        created = self.at(starts, 10) - timedelta(days=2)
        pairing_id = len(self.pairings) + 1
        self.pairings.append(
            (
                pairing_id, unit_id, community_id, starts.isoformat(),
                ends_on.isoformat() if ends_on else None, "\n".join(picks), None, created, ended_at,
            )
        )  # fmt: skip
        if not ended:
            self.pairings_of[community_id].append((pairing_id, unit_id))

    # --- a year of service in every community ------------------------------------------------------

    def plan(self) -> None:
        world, rng = self.world, self.rng
        planned = getattr(world, "pairing_plan", None)
        if planned is None:
            self._pairings()
        else:
            self.pairings, self.pairings_of = planned
        self._teams()
        self.bench = None if self.demo else bench_member(world)
        per_slot = 3 if self.demo else 12
        for c, community_id in enumerate(world.community_ids):
            members = self.members_of.get(c, [])
            draws = rng.choices(SERVICE_COUNTS, weights=SERVICE_WEIGHTS, k=len(members))
            wanted = dict(zip(members, draws, strict=True))
            minimum_slots = BENCH_RECORDS + 40 if self.bench in wanted else 6
            self._year_of(community_id, wanted, max(math.ceil(sum(draws) / per_slot), minimum_slots))
        self._finish_all()
        if self.demo:
            self._demo_showcase()
            self._finish_all()

    def _pairings(self) -> None:
        """Most communities paired with one or two work units; about one in twenty with none; an
        ended pairing here and there (the history). The demo: two of three communities paired, one
        work unit with no partner, the demo unit paired with the first community."""
        world, rng = self.world, self.rng
        units = [u[0] for u in world.work_units]
        if self.demo:
            danwei = world.stories[world.showcase[(0, "transferred")] - 1].work_unit_id
            others = [u for u in units if u != danwei]
            self.pair(danwei, world.community_ids[0])
            for unit in others[:2]:
                self.pair(unit, world.community_ids[0])
            for unit in others[2:-1]:
                self.pair(unit, world.community_ids[1])
            if len(world.community_ids) > 2:
                self.pair(others[-1], world.community_ids[2], ended=True)  # ended: the unit has none now
            return
        for community_id in world.community_ids:
            draw = rng.random()
            if draw < 0.05:
                continue
            for unit in rng.sample(units, 1 if draw < 0.7 else 2):
                self.pair(unit, community_id)
            if rng.random() < 0.05:
                self.pair(rng.choice(units), community_id, ended=True)

    def _teams(self) -> None:
        """A service team in about one community in five (S2: 194 teams in the city); the demo has a
        teachers' team with nine service areas and the demo member leading a small one."""
        world, rng = self.world, self.rng
        for c, community_id in enumerate(world.community_ids):
            members = self.members_of.get(c, [])
            if self.demo:
                if c == 0:
                    continue  # the showcase makes the first community's teams
                name, areas = TEAMS[c % len(TEAMS)]
                self.team(community_id, name, areas, rng.sample(members, min(5, len(members))))
                continue
            if len(members) < 8 or rng.random() > 0.2:
                continue
            name, areas = TEAMS[int(rng.random() * len(TEAMS))] if rng.random() > 0.1 else TEACHERS
            self.team(community_id, name, areas, rng.sample(members, min(len(members), rng.randint(6, 20))))

    def _year_of(self, community_id: int, wanted: dict[int, int], count: int) -> None:
        """`count` slots of activities, posts and tasks over the year, and each member's sign-ups."""
        rng = self.rng
        first, first_activity = len(self.slots), len(self.activities)
        at_least = 14 if self.demo else 0  # activities: the demo's lists show a year of them
        weights = []
        while len(self.slots) - first < count or len(self.activities) - first_activity < at_least:
            day = self.today + timedelta(days=int(rng.random() * 380) - 365)
            draw = rng.random()
            organiser, extra = self._organiser(community_id)
            if draw < 0.7:
                text = ACTIVITIES[int(rng.random() * len(ACTIVITIES))]
                a = self.activity(ActivityKind.ACTIVITY, text, community_id, organiser, **extra)
                hour = rng.choice((9, 9, 14, 15, 19))
                for n in range(1 if rng.random() < 0.8 else 2):
                    start = self.at(day, hour + 2 * n, 30 if hour == 19 else 0)
                    capacity = rng.choice((8, 10, 15, 20, 30))
                    self.slot(a, start, rng.choice((1.5, 2, 2, 3)), capacity, self.venue(community_id))
                    weights.append(1.0)
            elif draw < 0.9:
                text = POSTS[int(rng.random() * len(POSTS))]
                a = self.activity(ActivityKind.POST, text, community_id)
                venue = self.venue(community_id)
                for week in range(rng.randint(3, 8)):
                    shift = day + timedelta(days=7 * week)
                    self.slot(a, self.at(shift, 9), 2, rng.choice((2, 3, 4)), venue, "上午班")
                    self.slot(a, self.at(shift, 15), 2, rng.choice((2, 3, 4)), venue, "下午班")
                    weights += [0.3, 0.3]
            else:
                text = TASKS[int(rng.random() * len(TASKS))]
                a = self.activity(ActivityKind.TASK, text, community_id)
                capacity = rng.choice((50, 100, 200))
                self.slot(a, self.at(day, 8), 10, capacity, self.venue(community_id), "认领")
                weights.append(2.0)
        indices = range(first, len(self.slots))
        past = [i for i in indices if self.slots[i][5] <= self.now]
        chosen: dict[int, list[int]] = defaultdict(list)  # slot index -> members, in sign-up order
        january = datetime(self.today.year, 1, 1, tzinfo=self.tz)
        for member, k in wanted.items():
            if member == self.bench:  # over a hundred records, this calendar year when it allows
                this_year = [i for i in past if self.slots[i][4] >= january]
                pool = this_year if len(this_year) >= BENCH_RECORDS else past
                picks = rng.sample(pool, min(BENCH_RECORDS, len(pool)))
            elif k:
                picks = list(dict.fromkeys(rng.choices(indices, weights=weights, k=2 * k)))[:k]
            else:
                continue
            for i in picks:
                chosen[i].append(member)
        for i in indices:
            self._fill(i, chosen.get(i, []))

    def _organiser(self, community_id: int) -> tuple[str, dict]:
        rng, draw = self.rng, self.rng.random()
        if draw < 0.15:
            estates = self.world.estates[community_id]
            return OrganiserKind.ESTATE, {"estate_id": estates[int(rng.random() * len(estates))]}
        if draw < 0.25 and self.teams_of.get(community_id):
            return OrganiserKind.TEAM, {"team_id": rng.choice(self.teams_of[community_id])}
        if draw < 0.35 and self.pairings_of.get(community_id):
            return OrganiserKind.WORK_UNIT, {"pairing": rng.choice(self.pairings_of[community_id])}
        return OrganiserKind.COMMUNITY, {}

    def _fill(self, i: int, members: list[int]) -> None:
        """Sign-ups for slot `i` (capacity raised to fit, or a waitlist when it is in the future), and
        records for the confirmed who came when it is over."""
        s, rng = self.slots[i], self.rng
        future = s[4] > self.now
        if future and members and rng.random() < 0.15:
            s[6] = max(1, len(members) - rng.randint(1, 3))  # full, with a waitlist
        else:
            s[6] = max(s[6], len(members) + (rng.randint(0, 3) if s[3] != "认领" else 10))
        for member in members:
            self.enrol(i, member)
        if future:
            return
        task = s[3] == "认领"
        for member in members:
            if task:  # claimed a few hours of the day's task, checked in and out by QR
                if rng.random() < SHOW_RATE or member == self.bench:
                    late, length = 30 * int(rng.random() * 12), 60 * rng.randint(2, 4)
                    self.record(i, member, method=AttendanceMethod.QR, late_minutes=late, minutes=length)
            elif member == self.bench or rng.random() < SHOW_RATE:
                qr = rng.random() < 0.4
                method = AttendanceMethod.QR if qr else AttendanceMethod.ROLL_CALL
                self.record(i, member, method=method, late_minutes=int(rng.random() * 20) if qr else 0)

    def _finish_all(self) -> None:
        """Closes the activities that are over (with how many people they served); the others are
        open for sign-up."""
        for row in self.activities:
            if row[12] is None:
                row[12] = ActivityStatus.CLOSED if row[16] <= self.now else ActivityStatus.PUBLISHED
                if row[12] == ActivityStatus.CLOSED:
                    row[13] = int(5 + self.rng.random() * 60)

    # --- the demo's showcase ------------------------------------------------------------------------

    def _demo_showcase(self) -> None:
        world = self.world
        community = world.community_ids[0]
        me = world.showcase[(0, "transferred")]  # signs in as dangyuan
        others = [m for m in self.members_of[0] if m != me]
        low = others.pop()  # below the minimum: one record this year (see _demo_member_year)

        def group(first: int, count: int) -> list[int]:
            return [others[(first + j) % len(others)] for j in range(min(count, len(others)))]

        estate = next(e for e in world.estates[community] if world.buildings[e])  # zhibu's estate
        name = f"{self.names[community].removesuffix('社区')}{TEACHERS[0]}"
        teachers = self.team(community, name, TEACHERS[1], [others[0], me, *group(1, 6)])
        led = self.team(community, "党员先锋服务队", TEAMS[0][1], [me, *group(7, 4)])
        pairing = self.pairings_of[community][0]  # the demo unit's
        venue = self.venue

        def upcoming(days: int, hour: int) -> datetime:
            return self.at(self.today + timedelta(days=days), hour)

        # 1. the community's weekend clean-up: two slots, the second full with a waitlist
        a = self.activity(ActivityKind.ACTIVITY, ACTIVITIES[3], community, title="周末小区环境大扫除")
        first = self.slot(a, upcoming(2, 9), 2, 10, venue(community, estate), "上午")
        full = self.slot(a, upcoming(2, 14), 2, 4, venue(community, estate), "下午")
        for m in group(0, 3):
            self.enrol(first, m)
        for m in group(3, 6):  # four confirmed, two waiting
            self.enrol(full, m)
        # 2. the estate branch's house calls, the demo member signed up
        a = self.activity(
            ActivityKind.ACTIVITY, ACTIVITIES[5], community, OrganiserKind.ESTATE, estate_id=estate
        )
        s = self.slot(a, upcoming(4, 9), 2.5, 6, venue(community, estate))
        for m in [me, *group(9, 2)]:
            self.enrol(s, m)
        # 3. the teachers' team tutoring, for its members: full, the demo member waiting
        a = self.activity(
            ActivityKind.ACTIVITY, ACTIVITIES[7], community, OrganiserKind.TEAM, team_id=teachers,
            audience=Audience.TEAM,
        )  # fmt: skip
        s = self.slot(a, upcoming(3, 14), 2, 3, "社区文化活动室")
        for m in [others[0], *group(1, 2), me]:
            self.enrol(s, m)
        # 4. the paired work unit's joint activity
        unit_name = next(u[1] for u in world.work_units if u[0] == pairing[1])
        text = (CATEGORY.SAFETY, "", "单位党员与社区党员一起在小区讲解交通安全和电动车规范充电。")
        a = self.activity(
            ActivityKind.ACTIVITY, text, community, OrganiserKind.WORK_UNIT, pairing=pairing,
            title=f"共建活动：{unit_name}交通安全进社区",
        )  # fmt: skip
        s = self.slot(a, upcoming(6, 9), 3, 12, venue(community))
        for m in group(11, 3):
            self.enrol(s, m)
        # 5. the service post: shifts three weekdays a week, from two weeks ago to three weeks ahead
        a = self.activity(ActivityKind.POST, POSTS[0], community)
        monday = self.today - timedelta(days=self.today.weekday() + 14)
        shifts = []
        for week in range(6):
            for weekday in (0, 2, 4):
                shift = monday + timedelta(days=7 * week + weekday)
                shifts.append(self.slot(a, self.at(shift, 9), 2, 2, "社区党群服务中心", "上午班"))
                shifts.append(self.slot(a, self.at(shift, 15), 2, 2, "社区党群服务中心", "下午班"))
        for n, i in enumerate(i for i in shifts if self.slots[i][5] <= self.now):
            for m in group(n, 1 + n % 2):
                self.enrol(i, m)
                self.record(i, m, method=AttendanceMethod.QR, late_minutes=n % 7)
        ahead = [i for i in shifts if self.slots[i][4] > self.now]
        self.enrol(ahead[1], me)
        for n, i in enumerate(ahead[::3]):
            self.enrol(i, others[(n + 2) % len(others)])
        # 6. a task to claim: fire-safety calls over a week, from tomorrow
        a = self.activity(ActivityKind.TASK, TASKS[2], community)
        s = self.slot(a, upcoming(1, 8), 24 * 6 + 10, 200, f"{self.names[community]}全域", "认领")
        for m in others[::2]:
            self.enrol(s, m)
        # 7. under way: started an hour ago, three checked in by QR, no roll call yet
        a = self.activity(ActivityKind.ACTIVITY, ACTIVITIES[2], community, OrganiserKind.TEAM, team_id=led)
        start = (self.now - HOUR).replace(second=0, microsecond=0)
        s = self.slot(a, start, 2, 8, venue(community, estate))
        for n, m in enumerate(group(4, 5)):
            self.enrol(s, m, when=start - timedelta(days=2))
            if n < 3:
                self.record(s, m, method=AttendanceMethod.QR, late_minutes=3 + 4 * n, open_=True)
        # 8. cancelled: those signed up were told
        a = self.activity(
            ActivityKind.ACTIVITY, ACTIVITIES[9], community, status=ActivityStatus.CANCELLED,
            title="社区义诊（因天气取消）",
        )  # fmt: skip
        s = self.slot(a, upcoming(5, 9), 3, 10, "社区党群服务中心")
        for m in group(5, 3):
            self.enrol(s, m, status=EnrolmentStatus.CANCELLED)
        self._finish_all()
        self._demo_member_year(me, low)

    def _demo_member_year(self, me: int, low: int) -> None:
        """The demo member: six records this year (one checked in late by QR with its hours to
        correct, one a resident confirmed, one corrected before); `low` has one record this year."""
        community = self.world.community_ids[0]
        january = datetime(self.today.year, 1, 1, tzinfo=self.tz)
        # the demo member's generated past replaced by a chosen one; the low member's records dropped
        self.enrolments = [
            e for e in self.enrolments if not (e[2] == me and self.slots[e[1] - 1][5] <= self.now)
        ]
        self.enrolled = {(i, m) for i, m in self.enrolled if not (m == me and self.slots[i][5] <= self.now)}
        self.records = [r for r in self.records if r[1] not in (me, low)]
        self.corrections = []
        for s in self.slots:
            s[7] = s[8] = 0
        for e in self.enrolments:
            s = self.slots[e[1] - 1]
            s[7] += e[3] == EnrolmentStatus.CONFIRMED
            s[8] += e[3] == EnrolmentStatus.WAITLISTED
        self.enrolments = [(n, *e[1:]) for n, e in enumerate(self.enrolments, start=1)]
        self.records = [(n, *r[1:]) for n, r in enumerate(self.records, start=1)]

        def usable(s: list, since: datetime) -> bool:
            activity = self.activities[s[1] - 1]
            return (
                s[4] >= since and s[5] <= self.now - timedelta(days=1) and activity[6] == community
                and activity[11] == Audience.OPEN and activity[12] == ActivityStatus.CLOSED
                and activity[1] != ActivityKind.TASK
            )  # fmt: skip

        this_year: list[int] = []
        for since in (january, self.now - timedelta(days=365)):  # early in January: the last year
            first_slots: dict[int, int] = {}  # one slot per activity
            for i, s in enumerate(self.slots):
                if usable(s, since):
                    first_slots.setdefault(s[1], i)
            this_year = list(first_slots.values())
            if len(this_year) >= 6:
                break
        picks = sorted(self.rng.sample(this_year, min(6, len(this_year))), key=lambda i: self.slots[i][4])
        last = len(picks) - 1
        for n, i in enumerate(picks):
            s = self.slots[i]
            s[6] = max(s[6], s[7] + 2)
            self.enrol(i, me)
            late = n == last
            method = AttendanceMethod.QR if late or n == 2 else AttendanceMethod.ROLL_CALL
            record = self.record(
                i, me, method=method, late_minutes=30 if late else 0, confirmed_by_resident=n == 3
            )
            if late:  # checked in half an hour late: asks for the whole slot
                self.correction(record, _hours(s[5] - s[4]))
            elif n == 1:
                self.correction(record, self.records[record - 1][8], CorrectionStatus.APPROVED)
        if picks:
            self.enrol(picks[0], low)
            record = self.record(picks[0], low, confirmed_by_resident=False)
            self.correction(record, Decimal("0.50"), CorrectionStatus.REJECTED)
        # two more pending corrections from members who checked in late by QR
        late_ones = [
            r for r in self.records
            if r[4] == community and r[5] == AttendanceMethod.QR and r[8] is not None
            and r[1] not in (me, low) and r[8] < _hours(self.slots[r[2] - 1][5] - self.slots[r[2] - 1][4])
        ]  # fmt: skip
        for r in late_ones[-2:]:
            self.correction(r[0], _hours(self.slots[r[2] - 1][5] - self.slots[r[2] - 1][4]))

    # --- rows ---------------------------------------------------------------------------------------

    def tables(self) -> list[Table]:
        policy = [(1, self.world.city_id, ANNUAL_MINIMUM, 45)]
        teams = [(*t, None) for t in self.teams]
        activities = [(*a[:14], None, a[14], a[15], a[16]) for a in self.activities]
        slots = [tuple(s) for s in self.slots]
        return [
            Table(VolunteerPolicy, ("id", "city_id", "annual_minimum", "remind_days_before_year_end"),
                  policy, 1),
            Table(ServiceTeam, TEAM_FIELDS, teams, len(teams)),
            Table(ServiceTeamMember, TEAM_MEMBER_FIELDS, self.team_members, len(self.team_members)),
            Table(Pairing, PAIRING_FIELDS, self.pairings, len(self.pairings)),
            Table(Activity, ACTIVITY_FIELDS, activities, len(activities)),
            Table(Slot, SLOT_FIELDS, slots, len(slots)),
            Table(Enrolment, ENROLMENT_FIELDS, self.enrolments, len(self.enrolments)),
            Table(ServiceRecord, RECORD_FIELDS, self.records, len(self.records)),
            Table(HoursCorrection, CORRECTION_FIELDS, self.corrections, len(self.corrections)),
        ]  # fmt: skip


TEAM_FIELDS = ("id", "community_id", "name", "description", "service_areas", "created_by_id", "created_at",
               "ended_at")  # fmt: skip
TEAM_MEMBER_FIELDS = ("id", "team_id", "member_id", "is_leader", "joined_at", "ended_at")
PAIRING_FIELDS = (
    "id", "work_unit_id", "community_id", "starts_on", "ends_on", "commitments", "created_by_id",
    "created_at", "ended_at",
)  # fmt: skip
ACTIVITY_FIELDS = (
    "id", "kind", "title", "description", "category", "organiser_kind", "community_id", "estate_id",
    "service_team_id", "work_unit_id", "pairing_id", "audience", "status", "people_served",
    "created_by_id", "created_at", "starts_at", "ends_at",
)  # fmt: skip
SLOT_FIELDS = (
    "id", "activity_id", "venue", "label", "starts_at", "ends_at", "capacity", "confirmed", "waitlisted",
    "qr_secret",
)  # fmt: skip
ENROLMENT_FIELDS = ("id", "slot_id", "member_id", "status", "created_at", "changed_at")
RECORD_FIELDS = (
    "id", "member_id", "slot_id", "activity_id", "community_id", "method", "checked_in_at",
    "checked_out_at", "hours", "recorded_by_id", "created_at", "confirm_token", "resident_confirmed_at",
    "resident_comment",
)  # fmt: skip
CORRECTION_FIELDS = (
    "id", "record_id", "requested_hours", "reason", "status", "requested_at", "decided_by_id",
    "decided_at", "answer",
)  # fmt: skip


def bench_member(world: World) -> int | None:
    """The member `logins.create_bench_users` signs in as BENCH_MEMBER (same choice, made here so the
    plan can give them a long record)."""
    if not world.stories:
        return None
    community = world.busiest_community_id()
    here = [s for s in world.stories if world.community_ids[s.community] == community]
    candidates = [s for s in here if s.kind in ("transferred", "approved")]
    if not candidates:
        return None
    return min(candidates, key=lambda s: s.kind != "transferred").member_id


def _hours(span: timedelta) -> Decimal:
    return Decimal(span.total_seconds() / 3600).quantize(Decimal("0.01"))


def plan_pairings(world: World) -> None:
    """Plans the unit–community pairings before the demands, so that a demand escalated (吹哨) to a work
    unit goes to one paired with its community, as the service requires: `world.paired_units` maps a
    community id to its paired unit ids; `plan` later writes the same pairings."""
    world.pairing_plan = None
    world.paired_units = {}
    if not world.community_ids or not world.work_units:
        return
    planner = VolunteerPlanner(world)
    planner.rng = Random(world.scale.seed + 13)  # its own stream: the rest of the plan draws as before
    planner._pairings()
    world.pairing_plan = (planner.pairings, planner.pairings_of)
    world.paired_units = {c: [unit for _id, unit in pairs] for c, pairs in planner.pairings_of.items()}


def plan(world: World) -> list[Table]:
    """The volunteering tables of `world`, in load order."""
    if not world.community_ids or not world.work_units:
        return []
    planner = VolunteerPlanner(world)
    planner.plan()
    return planner.tables()
