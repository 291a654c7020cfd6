"""A year of residents' demands for a generated world, with their timelines and the rate rollups.

Every demand gets a whole life drawn up front: when it came in, whether it is declined, assigned
(to the estate's branch or a member of its community), started, escalated (吹哨, to a work unit or
the street, which takes it on and reports back or sends it back), resolved (in time or late),
reopened once, rated (by the resident, or by staff on a call-back), or left stuck. That life is then
cut at `now`: the demand's status, timestamps and counters are what its steps up to now made of
it, so a demand from this morning is still waiting while one from last spring is long closed. A
few residents follow an open demand of the same problem instead of filing a new one (the follower
is merged into it, and resolved with it), and their text is the same problem in other words.

Every step becomes a DemandEvent (the whole timeline is seeded, with labels instead of user
accounts), and the DemandRollup rows are counted from the demands as services._bump would have
kept them: per area above the demand (estate, community, street, district, city) and local day of
receipt: received, responded (in time, seconds), declined, resolved (in time, seconds), rated,
satisfied.

Times are float seconds (epoch) while planning, turned into datetimes only for the rows: a city's
200,000 demands and million events plan in a few seconds.
"""

import json
import secrets
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from itertools import accumulate
from random import Random

from django.utils import timezone

from huijia.core.seeding import demand_texts as T
from huijia.core.seeding.generator import Table, World
from huijia.demands.models import (
    TRACKING_ALPHABET,
    TRACKING_LENGTH,
    AssigneeKind,
    Demand,
    DemandEvent,
    DemandRollup,
    DemandSource,
    Escalation,
    EscalationStatus,
    EscalationTarget,
    EventKind,
    Rating,
)
from huijia.demands.models import DemandStatus as S

HOUR, DAY = 3600.0, 86400.0
# how often each category comes up (drains, lights and rubbish most, legal advice least)
CATEGORY_WEIGHTS = {
    "drain": 10, "streetlight": 8, "road": 5, "utilities": 9, "elevator": 7, "garbage": 9, "greening": 4,
    "parking": 8, "noise": 8, "neighbour": 6, "elderly": 6, "health": 4, "legal": 3, "children": 3,
    "wish": 3, "safety": 5, "other": 2,
}  # fmt: skip
ESTATE_WIDE = frozenset({"streetlight", "road", "greening", "parking", "garbage"})  # often the estate's
PERSONAL = frozenset({"elderly", "health", "legal", "children", "wish", "utilities", "neighbour", "noise"})
SOURCES = (
    (DemandSource.RESIDENT, 45), (DemandSource.VISIT, 20), (DemandSource.POST, 10),
    (DemandSource.STAFF, 15), (DemandSource.PATROL, 7), (DemandSource.MEETING, 3),
)  # fmt: skip
RATINGS = ((Rating.SATISFIED, 80), (Rating.BASIC, 14), (Rating.UNSATISFIED, 6))
P_DECLINE, P_ESCALATE, P_STUCK, P_REOPEN, P_RATED = 0.05, 0.04, 0.015, 0.03, 0.75
P_FOLLOW = 0.25  # of those whose problem is already open nearby: follow it instead of a new report
P_RESPOND_LATE, P_RESOLVE_LATE = 0.08, 0.1
OPEN = frozenset({S.SUBMITTED, S.ACCEPTED, S.ASSIGNED, S.IN_PROGRESS, S.ESCALATED})
DONE = frozenset({S.RESOLVED, S.CLOSED})

DEMAND_FIELDS = (
    "id", "tracking_code", "area_id", "household_id", "community_id", "estate_id", "description",
    "category_id", "suggested_category_id", "source", "status", "version", "reporter_name",
    "reporter_phone", "member_id", "assignee_kind", "assigned_area_id", "assigned_member_id",
    "work_unit_id", "merged_into_id", "decline_reason", "resolution", "rating", "rating_comment",
    "rated_by_staff", "reopen_count", "created_at", "respond_by", "resolve_by", "responded_at",
    "assigned_at", "resolved_at", "closed_at", "overdue", "updated_at",
)  # fmt: skip
EVENT_FIELDS = ("id", "demand_id", "kind", "actor_label", "text", "data", "created_at")
ESCALATION_FIELDS = (
    "id", "demand_id", "target", "work_unit_id", "street_id", "reason", "status", "answer", "sent_at",
    "answered_at",
)  # fmt: skip
ROLLUP_FIELDS = (
    "id", "area_id", "day", "received", "responded", "responded_in_time", "declined", "resolved",
    "resolved_in_time", "rated", "satisfied", "respond_seconds", "resolve_seconds",
)  # fmt: skip


@dataclass(frozen=True)
class CategoryInfo:
    id: int
    code: str
    respond_hours: int
    resolve_hours: int


@dataclass(slots=True)
class Place:
    community: int  # index into World.community_ids
    community_id: int
    estate_id: int | None
    area_id: int
    building: str  # "3栋", or "" when the demand sits on the estate or community
    households: tuple[int, int] | None  # the building's household ids, inclusive


@dataclass(slots=True)
class Life:
    """One demand: what it is, and its steps (time, event kind, label, text, data JSON, changes)."""

    id: int
    place: Place
    category: CategoryInfo
    template: int
    created: float
    source: str
    reporter_name: str
    household_id: int | None
    member_id: int | None
    description: str = ""
    steps: list[tuple] = field(default_factory=list)
    escalation: dict | None = None
    follows: "Life | None" = None
    followers: int = 0


@cache
def _data(**values) -> str:
    return json.dumps(values, ensure_ascii=False)


def _cumulative(weights) -> list[float]:
    return list(accumulate(float(w) for w in weights))


def _when(ts: float | None, _at=datetime.fromtimestamp) -> datetime | None:
    return None if ts is None else _at(ts, UTC)


class Planner:
    """Draws the demands of a world; `tables()` gives their rows, rollups counted from them."""

    def __init__(self, world: World, categories: list[CategoryInfo], now: datetime, favourites=None):
        self.world, self.now = world, now.timestamp()
        self.rng = Random(world.scale.seed + 7)
        self.random = self.rng.random
        self.tz = timezone.get_default_timezone()
        self.categories = [c for c in categories if c.code in CATEGORY_WEIGHTS]
        self.category_weights = _cumulative(CATEGORY_WEIGHTS[c.code] for c in self.categories)
        self.source_weights = _cumulative(w for _s, w in SOURCES)
        self.rating_weights = _cumulative(w for _r, w in RATINGS)
        self.names = {a[0]: a[3] for a in world.areas}
        self.parents = {a[0]: a[1] for a in world.areas}
        self.unit_names = {unit[0]: unit[1] for unit in world.work_units}
        self.favourites = favourites or {}  # community index -> member id that gets most assignments
        self._index_places()
        self._index_members()
        self.lives: list[Life] = []

    # --- where demands come from ---------------------------------------------------------------

    def _index_places(self) -> None:
        world = self.world
        ranges, next_id = {}, 1
        for building in world._buildings_in_id_order():
            ranges[building.id] = (next_id, next_id + building.size - 1)
            next_id += building.size
        self.building_households = ranges
        # per community: [(estate id, [building ids], cumulative building sizes)], cumulative estate sizes
        self.estates_of: list[tuple[list, list[float]]] = []
        sizes = []
        for community_id in world.community_ids:
            estates, estate_sizes = [], []
            for estate_id in world.estates[community_id]:
                buildings = [b for b in world.buildings[estate_id] if b.size]
                if buildings:
                    estates.append(
                        (estate_id, [b.id for b in buildings], _cumulative(b.size for b in buildings))
                    )
                    estate_sizes.append(sum(b.size for b in buildings))
            self.estates_of.append((estates, _cumulative(estate_sizes)))
            sizes.append(sum(estate_sizes))
        spread = world.scale.member_spread
        self.community_weights = _cumulative(
            size * (self.rng.lognormvariate(0, spread) if spread > 0 else 1.0) for size in sizes
        )

    def _index_members(self) -> None:
        self.members_of: dict[int, list[int]] = defaultdict(list)  # community index -> approved members
        for story in self.world.stories:
            approved = story.approved
            if approved:
                self.members_of[approved[0]].append(story.member_id)

    def _pick(self, cumulative: list[float]) -> int:
        return bisect_right(cumulative, self.random() * cumulative[-1])

    def _choice(self, options):
        return options[int(self.random() * len(options))]

    def _place(self, category: CategoryInfo) -> Place:
        c = self._pick(self.community_weights)
        community_id = self.world.community_ids[c]
        estates, estate_weights = self.estates_of[c]
        estate_id, buildings, building_weights = estates[self._pick(estate_weights)]
        building_id = buildings[self._pick(building_weights)]
        level = self.random()
        if (category.code in ESTATE_WIDE and level < 0.6) or level < 0.08:
            return Place(c, community_id, estate_id, estate_id, "", None)
        if level < 0.11:
            return Place(c, community_id, None, community_id, "", None)
        households = self.building_households[building_id]
        return Place(c, community_id, estate_id, building_id, self.names[building_id], households)

    # --- planning ------------------------------------------------------------------------------

    def plan(self, count: int) -> None:
        random, now, tz = self.random, self.now, self.tz
        span = self.world.scale.demand_days * DAY - 60
        drafts = []
        for _ in range(count):
            category = self.categories[self._pick(self.category_weights)]
            created = now - 60 - random() * span
            if datetime.fromtimestamp(created, tz).hour < 7 and random() < 0.8:  # few reports at night
                created = min(created + (7 + 3 * random()) * HOUR, now - 60)
            drafts.append((created, category))
        drafts.sort(key=lambda d: d[0])
        recent: dict[tuple, Life] = {}  # (estate or community, category) -> its latest demand
        for i, (created, category) in enumerate(drafts, start=1):
            life = self._life(i, created, category)
            key = (life.place.estate_id or life.place.community_id, category.id)
            main = recent.get(key)
            if main is not None and random() < P_FOLLOW and self._open_at(main, created):
                self._follow(life, main)
            else:
                self._story(life)
                recent[key] = life
            self.lives.append(life)

    def _life(self, i: int, created: float, category: CategoryInfo) -> Life:
        random = self.random
        place = self._place(category)
        source = SOURCES[self._pick(self.source_weights)][0]
        household = None
        if place.households and category.code in PERSONAL and random() < 0.7:
            low, high = place.households
            household = low + int(random() * (high - low + 1))
        members = self.members_of.get(place.community)
        collector = (
            self._choice(members) if members and source in (DemandSource.VISIT, DemandSource.POST) else None
        )
        name = ""
        if source in (DemandSource.RESIDENT, DemandSource.STAFF, DemandSource.VISIT) and random() < 0.7:
            name = self._choice(T.SURNAMES) + self._choice(T.TITLES)
        template = int(random() * len(T.TEMPLATES[category.code]))
        life = Life(i, place, category, template, created, source, name, household, collector)
        life.description = self._text(life)
        return life

    def _text(self, life: Life) -> str:
        place, choice, random = life.place, self._choice, self.random
        template = T.TEMPLATES[life.category.code][life.template]
        return template.format(
            b=place.building or choice(("3栋", "5栋", "8栋", "12栋")),
            u=f"{1 + int(random() * 3)}单元",
            f=2 + int(random() * 25),
            p=choice(T.PLACES),
            t=choice(T.SINCE),
            e=self.names.get(place.estate_id, ""),
        )

    def _open_at(self, life: Life, when: float) -> bool:
        """Whether `life` was accepted and not yet resolved or declined at `when`, within ten days."""
        if when - life.created > 10 * DAY:
            return False
        accepted = resolved = None
        for at, kind, *_rest in life.steps:
            if kind in (EventKind.ACCEPTED, EventKind.ASSIGNED) and accepted is None:
                accepted = at
            elif kind in (EventKind.RESOLVED, EventKind.DECLINED):
                resolved = at
                break
        return accepted is not None and accepted <= when and (resolved is None or resolved > when)

    # --- one demand's life ---------------------------------------------------------------------

    def _delay(self, limit_hours: int, late: float) -> float:
        """Seconds to a deadline-bound step: mostly early, sometimes late."""
        random = self.random
        if random() < late:
            return limit_hours * HOUR * (1.05 + 1.95 * random())
        return max(300.0, limit_hours * HOUR * (0.03 + 0.92 * random()) ** 2)

    def _between(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def _story(self, life: Life, escalate: bool | None = None, favourite: bool = False) -> None:
        random, between, cat, place = self.random, self._between, life.category, life.place
        staff = f"{self.names[place.community_id]}工作人员"
        steps = life.steps
        if favourite:  # the demo member's share: taken within the hour, so it is theirs by now on the demo
            t = life.created + between(300, HOUR)
        else:
            t = life.created + self._delay(cat.respond_hours, P_RESPOND_LATE)
        if random() < P_DECLINE and not (escalate or favourite):
            reason = self._choice(T.DECLINE_REASONS)
            steps.append(
                (t, EventKind.DECLINED, staff, reason, "{}", {"status": S.DECLINED, "reason": reason})
            )
            return
        kind, target, label = self._assignee(life, favourite)
        steps.append((t, EventKind.ACCEPTED, staff, "", "{}", {"status": S.ACCEPTED, "respond": True}))
        if kind:
            if random() < 0.6:  # else assigned from "submitted": accepted and assigned at once
                t += between(300, HOUR if favourite else 6 * HOUR)
            assigned = {"status": S.ASSIGNED, "assignee": (kind, target), "assigned_at": t}
            steps.append((t, EventKind.ASSIGNED, staff, "", _data(to=label, assignee_kind=kind), assigned))
            if random() < 0.85:
                t += between(600, 24 * HOUR)
                steps.append((t, EventKind.STARTED, label, "", "{}", {"status": S.IN_PROGRESS}))
        if random() < P_STUCK and not escalate:
            return
        done = life.created + self._delay(cat.resolve_hours, P_RESOLVE_LATE)
        if done <= t:
            done = t + between(HOUR, 2 * DAY)
        handler = label or staff
        if (random() < P_ESCALATE) if escalate is None else escalate:
            done, handler = self._escalate(life, t, done, staff)
            if done is None:
                return
        resolution = self._choice(T.RESOLUTIONS[cat.code])
        resolved = {"status": S.RESOLVED, "done": resolution}
        steps.append((done, EventKind.RESOLVED, handler, resolution, "{}", resolved))
        if random() < P_REOPEN:
            again = done + between(DAY, 5 * DAY)
            back = S.IN_PROGRESS if kind else S.ACCEPTED
            steps.append(
                (
                    again,
                    EventKind.REOPENED,
                    "居民",
                    "问题又出现了，还没有解决",
                    "{}",
                    {"status": back, "reopen": True},
                )
            )
            done = again + between(DAY, 5 * DAY)
            steps.append((done, EventKind.RESOLVED, handler, resolution, "{}", resolved))
        if random() < P_RATED:
            self._rate(life, done)

    def _assignee(self, life: Life, favourite: bool = False) -> tuple[str, int | None, str]:
        """(kind, target id, label): the estate's branch, a member of the community, or nobody (staff);
        with `favourite`, the community's favourite member (the demo's member login)."""
        place, roll = life.place, self.random()
        members = self.members_of.get(place.community)
        chosen = self.favourites.get(place.community)
        if favourite and chosen:
            return AssigneeKind.MEMBER, chosen, self.world.member_names[chosen - 1]
        if roll < 0.1:
            return "", None, ""
        if members and (roll < 0.6 or place.estate_id is None):
            member = chosen if chosen and self.random() < 0.5 else self._choice(members)
            return AssigneeKind.MEMBER, member, self.world.member_names[member - 1]
        if place.estate_id is None:
            return "", None, ""
        return AssigneeKind.BRANCH, place.estate_id, f"{self.names[place.estate_id]}党支部"

    def _escalate(self, life: Life, t: float, done: float, staff: str) -> tuple[float | None, str]:
        """Whistles the demand up after step time `t`: (when it is resolved, or None; by whom)."""
        random, between, place = self.random, self._between, life.place
        sent = t + between(HOUR, 2 * DAY)
        paired = getattr(self.world, "paired_units", {}).get(place.community_id)
        if paired and random() < 0.5:  # only to a unit paired with the community (结对共建), or the street
            unit, street = paired[int(random() * len(paired))], None
            target, label = EscalationTarget.WORK_UNIT, self.unit_names[unit]
        else:
            unit, street = None, self.parents[place.community_id]
            target, label = EscalationTarget.STREET, self.names[street]
        reason = self._choice(T.ESCALATION_REASONS)
        escalation = {"target": target, "work_unit": unit, "street": street, "reason": reason, "sent": sent}
        life.escalation = escalation
        escalated = {"status": S.ESCALATED, "unit": unit}
        life.steps.append((sent, EventKind.ESCALATED, staff, reason, _data(to=label), escalated))
        answered = sent + between(HOUR, 2 * DAY)
        if random() < 0.15:  # sent back: the community carries on
            answer = "不属于本单位职责，请社区协调其他部门"
            escalation.update(outcome=EscalationStatus.DECLINED, answered=answered, answer=answer)
            back = {"status": "back", "unit": None}
            life.steps.append((answered, EventKind.ESCALATION_DECLINED, label, answer, "{}", back))
            return max(done, answered + between(HOUR, 3 * DAY)), staff
        answer = self._choice(T.ESCALATION_ANSWERS)
        escalation.update(outcome=EscalationStatus.ACCEPTED, answered=answered, answer=answer)
        accepted = {"status": S.ESCALATED}
        life.steps.append((answered, EventKind.ESCALATION_ACCEPTED, label, answer, "{}", accepted))
        if random() < 0.1:
            return None, label  # still with the receiving side
        reported = max(done, answered + between(HOUR, 5 * DAY))
        escalation["reported"] = reported
        return reported, label

    def _rate(self, life: Life, resolved: float) -> None:
        at = resolved + self._between(2 * HOUR, 7 * DAY)
        rating = RATINGS[self._pick(self.rating_weights)][0]
        comment = self._choice(T.UNSATISFIED if rating == Rating.UNSATISFIED else T.SATISFIED)
        by_staff = self.random() < 0.25
        label = f"回访：{self.names[life.place.community_id]}工作人员" if by_staff else "居民"
        changes = {"status": S.CLOSED, "rating": (rating, comment, by_staff)}
        life.steps.append((at, EventKind.CONFIRMED, label, comment, _data(rating=rating), changes))

    def _follow(self, life: Life, main: Life) -> None:
        """A resident who finds the same problem already reported follows that demand."""
        life.follows = main
        life.template = main.template
        life.place = main.place
        life.description = self._text(life)
        life.household_id = None
        life.source = DemandSource.RESIDENT
        merged = {"status": S.MERGED, "respond": True}
        text = "同一问题已有人反映，跟进办理"
        life.steps.append((life.created, EventKind.MERGED, "系统", text, _data(into=main.id), merged))
        note = (life.created, EventKind.NOTE, "系统", "又有一位居民反映了同一问题", _data(follower=life.id))
        main.steps.append((*note, {"bump": True}))
        main.followers += 1
        main.steps.sort(key=lambda s: s[0])
        for at, kind, label, resolution, _data_json, _changes in main.steps:
            if kind == EventKind.RESOLVED:
                resolved = {"status": S.RESOLVED, "done": resolution}
                life.steps.append((at, kind, label, resolution, _data(by_demand=main.id), resolved))
                break

    def adopt(self, household_id: int, name: str, count: int = 4) -> None:
        """Files a few demands of the household's community as its resident's own (the demo's
        resident sees demands in several states: just in, being handled, to rate, rated)."""
        ranges = self.building_households
        building = next((b for b, r in ranges.items() if r[0] <= household_id <= r[1]), None)
        if building is None:
            return
        estate = self.parents[building]
        community = self.parents[estate]
        c = self.world.community_ids.index(community)
        own = [x for x in self.lives if x.place.community == c and not x.follows and not x.followers]
        picks = sorted({round(i * (len(own) - 1) / max(count - 1, 1)) for i in range(count)}) if own else []
        for life in (own[i] for i in picks):
            life.place = Place(c, community, estate, building, self.names[building], ranges[building])
            life.household_id, life.source, life.reporter_name = household_id, DemandSource.RESIDENT, name
            life.description = self._text(life)
            life.steps, life.escalation = [], None
            self._story(life)  # handled where it now is

    def freshen(self, ages_hours: tuple[float, ...] = (0.3, 2, 5, 9, 20, 30, 50, 75)) -> None:
        """Moves the newest demands of each community to the last few days, redrawn, so that a small
        demo shows demands just in, accepted, assigned, being handled and escalated, not only done;
        every other one is handled by the community's favourite member (the demo's member login)."""
        for c in range(len(self.world.community_ids)):
            own = [x for x in self.lives if x.place.community == c and not x.follows and not x.followers]
            newest = own[-len(ages_hours) :]
            for n, (life, hours) in enumerate(zip(reversed(newest), ages_hours, strict=False)):
                life.created = self.now - hours * HOUR
                life.steps, life.escalation = [], None
                self._story(life, escalate=n == len(ages_hours) - 1 or None, favourite=n % 2 == 1)

    # --- rows ----------------------------------------------------------------------------------

    def tables(self) -> list[Table]:
        demands, events, escalations = [], [], []
        grouped: dict[tuple, list[tuple]] = defaultdict(list)  # (estate, community, day) -> counts
        tz = self.tz
        for life, code in zip(self.lives, _tracking_codes(len(self.lives)), strict=True):
            row, counts = self._row(life, code, events)
            demands.append(row)
            if life.escalation and life.escalation["sent"] <= self.now:
                escalations.append(self._escalation_row(len(escalations) + 1, life))
            day = datetime.fromtimestamp(life.created, tz).date()
            grouped[(life.place.estate_id, life.place.community_id, day)].append(counts)
        rollups = self._rollups(grouped)
        rollup_rows = [(i, *key, *counts) for i, (key, counts) in enumerate(rollups.items(), start=1)]
        return [
            Table(Demand, DEMAND_FIELDS, demands, len(demands)),
            Table(DemandEvent, EVENT_FIELDS, events, len(events)),
            Table(Escalation, ESCALATION_FIELDS, escalations, len(escalations)),
            Table(DemandRollup, ROLLUP_FIELDS, rollup_rows, len(rollup_rows)),
        ]

    def _rollups(self, grouped: dict[tuple, list[tuple]]) -> dict[tuple, list[int]]:
        """Counts per (area, day) for the estates, then each level summed into its parent's row
        (communities, streets, districts, the city): each row is added once, into its parent."""
        level: dict[tuple, list[int]] = {}  # (area, day) -> counts, the level being summed up
        rollups: dict[tuple, list[int]] = {}
        for (estate, community, day), rows in grouped.items():
            sums = [sum(column) for column in zip(*rows, strict=True)]
            if estate:
                rollups[(estate, day)] = sums
            _add(level, (community, day), sums)
        while level:
            rollups.update(level)
            parents: dict[tuple, list[int]] = {}
            for (area, day), counts in level.items():
                parent = self.parents[area]
                if parent is not None:
                    _add(parents, (parent, day), counts)
            level = parents
        return rollups

    def _row(self, life: Life, code: str, events: list) -> tuple[tuple, tuple]:
        """The demand as its steps up to now left it (its events appended), and its rollup counts."""
        now, cat, created = self.now, life.category, life.created
        respond_by = created + cat.respond_hours * HOUR
        resolve_by = created + cat.resolve_hours * HOUR
        add, at_ = events.append, datetime.fromtimestamp
        add(
            (
                len(events) + 1,
                life.id,
                EventKind.SUBMITTED,
                life.reporter_name or "居民",
                "",
                "{}",
                _when(created),
            )
        )
        state = {
            "status": S.SUBMITTED, "assignee": ("", None), "responded_at": None, "assigned_at": None,
            "resolved_at": None, "closed_at": None, "unit": None, "reason": "", "resolution": "",
            "rating": ("", "", False), "reopen": 0, "version": 1, "updated": created,
        }  # fmt: skip
        steps = life.steps
        if len(steps) > 1:
            steps.sort(key=lambda s: s[0])
        for at, kind, label, text, data, changes in steps:
            if at > now:
                break
            add((len(events) + 1, life.id, kind, label, text, data, at_(at, UTC)))
            _apply(state, at, changes)
        status = state["status"]
        overdue = _overdue(status, now, state["resolved_at"], respond_by, resolve_by)
        if overdue and status in OPEN:
            deadline, which = (respond_by, "受理") if status == S.SUBMITTED else (resolve_by, "办结")
            add(
                (
                    len(events) + 1,
                    life.id,
                    EventKind.OVERDUE,
                    "系统",
                    f"已超过{which}时限",
                    "{}",
                    _when(deadline),
                )
            )
        kind, target = state["assignee"]
        rating, comment, by_staff = state["rating"]
        place = life.place
        row = (
            life.id, code, place.area_id, life.household_id, place.community_id, place.estate_id,
            life.description, cat.id, cat.id, life.source, status, state["version"], life.reporter_name, "",
            life.member_id, kind, target if kind == AssigneeKind.BRANCH else None,
            target if kind == AssigneeKind.MEMBER else None, state["unit"],
            life.follows.id if life.follows else None, state["reason"], state["resolution"], rating, comment,
            by_staff, state["reopen"], _when(created), _when(respond_by), _when(resolve_by),
            _when(state["responded_at"]), _when(state["assigned_at"]), _when(state["resolved_at"]),
            _when(state["closed_at"]), overdue, _when(state["updated"]),
        )  # fmt: skip
        return row, _counts(state, created, respond_by, resolve_by)

    def _escalation_row(self, pk: int, life: Life) -> tuple:
        e, now = life.escalation, self.now
        status, answer, answered = EscalationStatus.SENT, "", None
        if e.get("answered") and e["answered"] <= now:
            status, answer, answered = e["outcome"], e["answer"], e["answered"]
        if e.get("reported") and e["reported"] <= now:
            status, answered = EscalationStatus.REPORTED, e["reported"]
            answer = next(s[3] for s in life.steps if s[1] == EventKind.RESOLVED)
        target, unit, street, reason = e["target"], e["work_unit"], e["street"], e["reason"]
        return (pk, life.id, target, unit, street, reason, status, answer, _when(e["sent"]), _when(answered))


def _add(totals: dict, key: tuple, counts: list[int]) -> None:
    total = totals.get(key)
    totals[key] = list(counts) if total is None else [a + b for a, b in zip(total, counts, strict=True)]


def _apply(state: dict, at: float, changes: dict) -> None:
    """One step's changes to the demand (what the service of that step writes)."""
    status = changes.get("status")
    if status == "back":  # an escalation sent back: to whoever had it before
        state["status"] = S.ASSIGNED if state["assignee"][0] else S.ACCEPTED
    elif status:
        state["status"] = status
    if changes.get("respond") and state["responded_at"] is None:
        state["responded_at"] = at
    if "reason" in changes:
        state["reason"], state["responded_at"] = changes["reason"], at
    if "assignee" in changes:
        state["assignee"], state["assigned_at"] = changes["assignee"], changes["assigned_at"]
    if "unit" in changes:
        state["unit"] = changes["unit"]
    if "done" in changes:
        state["resolution"], state["resolved_at"], state["unit"] = changes["done"], at, None
    if changes.get("reopen"):
        state["reopen"] += 1
        state["resolved_at"] = None
    if "rating" in changes:
        state["rating"], state["closed_at"] = changes["rating"], at
    state["version"] += 1
    state["updated"] = at


def _counts(state: dict, created: float, respond_by: float, resolve_by: float) -> tuple:
    """received, responded, in time, declined, resolved, in time, rated, satisfied, seconds ×2."""
    responded, resolved = state["responded_at"], state["resolved_at"]
    done = state["status"] in DONE and resolved is not None
    rating = state["rating"][0]
    return (
        1,
        responded is not None,
        responded is not None and responded <= respond_by,
        state["status"] == S.DECLINED,
        done,
        done and resolved <= resolve_by,
        bool(rating),
        rating in (Rating.SATISFIED, Rating.BASIC),
        int(responded - created) if responded is not None else 0,
        int(resolved - created) if done else 0,
    )


def _overdue(status: str, now: float, resolved: float | None, respond_by: float, resolve_by: float) -> bool:
    """What the deadline job would have marked: late and still open, or resolved after its deadline."""
    if status == S.SUBMITTED:
        return respond_by < now
    if status in OPEN:
        return resolve_by < now
    if status in DONE and resolved is not None:
        return resolved > resolve_by
    return False


def _tracking_codes(count: int) -> list[str]:
    """Distinct tracking codes from the system's randomness (never derived from the seed: a code lets
    whoever holds it rate the demand). Bytes above the largest multiple of the alphabet are dropped,
    so every letter is equally likely."""
    size = len(TRACKING_ALPHABET)
    keep = 256 - 256 % size
    table = bytes(ord(TRACKING_ALPHABET[b % size]) for b in range(256))
    codes: dict[str, None] = {}
    while len(codes) < count:
        need = (count - len(codes)) * TRACKING_LENGTH * 11 // 10 + TRACKING_LENGTH
        letters = secrets.token_bytes(need).translate(table, bytes(range(keep, 256))).decode()
        for i in range(0, len(letters) - TRACKING_LENGTH + 1, TRACKING_LENGTH):
            codes[letters[i : i + TRACKING_LENGTH]] = None
    return list(codes)[:count]


def plan(world: World, categories: list[CategoryInfo]) -> None:
    """Plans `demands_per_household` demands per household over the `demand_days` before `world.now`.

    On the demo, the member who signs in as "dangyuan" handles many of the first community's demands,
    and the resident who signs in as "jumin" has reported a few of them."""
    count = round(world.household_total() * world.scale.demands_per_household)
    if not count or not categories:
        return
    favourites = {}
    if world.scale.name == "demo" and (0, "transferred") in world.showcase:
        favourites[0] = world.showcase[(0, "transferred")]
    planner = Planner(world, categories, world.now, favourites)
    planner.plan(count)
    if world.scale.name == "demo":
        planner.freshen()
        if world.residents:
            _rid, household_id, name = world.residents[0]
            planner.adopt(household_id, name)
    world.demand_tables = planner.tables()
