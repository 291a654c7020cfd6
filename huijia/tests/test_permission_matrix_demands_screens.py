"""The permission matrix of residents' demands (诉求) through the HTML screens: the rows of
test_permission_matrix_demands.py (services and JSON API), tried again through the pages people use.

Covered, for every role of the matrix and every target of the service row each screen stands for:
- the staff console (/console/demands/…): the list, what is late, one demand, the assign picker's
  members, staff entry (代录), and every step posted from a demand's page (accept, decline, assign,
  recategorise, merge, escalate, start, resolve, note, the call-back rating); the reporter's phone
  shown in full (audited); the 接哨 inbox and its answers (take on, send back, report back); the
  complaints and suggestions and their answer; the three rates page (诉求三率);
- the member's phone screens (/m/demands/…): demands assigned to me, one demand, start, note and
  resolve, and the opinion-collection post (社情民意收集);
- the resident's screens: their own reported demands (/d/mine/), and the tracking page with its rate
  and reopen forms and the complaint form, which are public by design (whoever holds the tracking code,
  or anyone writing to a community). The anonymous QR report form and following a demand are public
  by design too, and left to the service rows.

A screen reaches exactly what its service row allows, for the actors it is meant for: the console is
for those holding a role (anyone else gets 403 there), the post form for members. Reached means the
effect is there: the step is done and audited, the row or the demand is on the page. Refused means
403 or 404 (anonymous: sent to sign in) with nothing written (the demands' status and version, their
events, escalations, complaints, rollups, audit rows and notifications are compared); a list leaves the
row out; a form whose choices hold only the actor's own places may refuse another place as bad input
(400). No page but the reveal shows the reporter's phone number in full.

Two service rows are added here, for screens with no row yet: reopening by tracking code, and the
rates of an area.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.db import transaction
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import reverse

from huijia.accounts.models import AuditLog, Notification
from huijia.core.testing import World
from huijia.demands import rates
from huijia.demands.models import Demand, DemandStatus, Feedback, Rating
from huijia.demands.services import reopen_demand
from huijia.tests.test_permission_matrix import (
    ACTORS,
    Op,
    reached_targets,
    signed_in_clients,
    targets,
    world_built_once,
)
from huijia.tests.test_permission_matrix_demands import (
    OPS_BY_NAME,
    code_of,
    demands_world,
    estate_of,
    everyone,
    service_team_of,
    state,
)

PHONE = "13800001234"  # every reporter's, in demands_world: masked everywhere but the reveal
STAFF = frozenset(  # holding a role: the console is theirs
    {
        "org_dept",
        "street_staff",
        "staff",
        "other_staff",
        "estate_secretary",
        "building_head",
        "unit_organiser",
    }
)
MEMBERS = frozenset({"member", "pending_member", "other_member"})
EVERYONE = frozenset(ACTORS)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    yield from world_built_once(demands_world, django_db_blocker)


@pytest.fixture(scope="module")
def clients(world: World, django_db_blocker) -> dict[str, Client]:
    return signed_in_clients(world, django_db_blocker)


# --- service rows for screens that had none -------------------------------------------------------

RATE_AREAS = ("a1", "a1_estate", "a2", "b1", "street_a")
EXTRA_OPS = [
    Op(
        "reopen by tracking code",
        targets({k: (lambda w, k=k: w.demands[k].pk) for k in ("resolved", "resolved_a2")}),
        lambda a, pk, w: reopen_demand(actor=a, tracking_code=code_of(pk), reason="还是堵"),
        everyone({"resolved", "resolved_a2"}),  # like rating: the code is the reporter's key
    ),
    Op(
        "view the rates of an area",
        targets({k: (lambda w, k=k: w.areas[k].pk) for k in RATE_AREAS}),
        lambda a, pk, w: rates.rates_visible(a, pk),
        {  # an area their role covers (a building head's building has no rates of its own)
            "org_dept": set(RATE_AREAS),
            "street_staff": {"a1", "a1_estate", "a2", "street_a"},
            "staff": {"a1", "a1_estate"},
            "other_staff": {"a2"},
            "estate_secretary": {"a1_estate"},
        },
    ),
]
BASE = {**OPS_BY_NAME, **{op.name: op for op in EXTRA_OPS}}


@pytest.mark.django_db
@pytest.mark.parametrize("op", EXTRA_OPS, ids=lambda op: op.name)
def test_the_service_rows_added_for_screens(op: Op, world: World):
    assert reached_targets(op, world) == {name: op.allowed.get(name, set()) for name in ACTORS}


# --- the screens ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """One request of one actor about one target, judged inside its savepoint."""

    w: World
    who: str
    target: object
    response: object
    mark: int  # the last audit row before the request

    @property
    def html(self) -> str:
        return "" if self.response.streaming else self.response.content.decode()

    @property
    def ok(self) -> bool:
        return self.response.status_code == 200

    def audited(self, action: str, target_id: object) -> bool:
        rows = AuditLog.objects.filter(pk__gt=self.mark, action=action, target_id=str(target_id))
        user = None if self.who == "anonymous" else self.w.users[self.who]
        return rows.filter(actor=user).exists()


@dataclass(frozen=True)
class Page:
    name: str
    same_as: str  # the service row whose targets and expectations apply
    send: Callable[[Client, World, object], object]
    done: Callable[[Seen], bool]  # the write happened, or the target is on the page
    audience: frozenset[str] = EVERYONE  # whom the screen is for: anyone else is refused
    listed: bool = False  # one page shows every target (a list): one request per actor
    reads: bool = False  # nothing may change, whatever the answer
    only: tuple[str, ...] = ()  # a part of the row's targets (the rest cannot be asked on this screen)
    form_scoped: bool = False  # its choices are the actor's own places: another is bad input (400)
    shows_phone: bool = False

    def subjects(self, w: World) -> dict[str, object]:
        found = BASE[self.same_as].targets(w)
        return {k: v for k, v in found.items() if not self.only or k in self.only}

    def expected(self, subjects) -> dict[str, set[str]]:
        allowed = BASE[self.same_as].allowed
        return {
            name: (allowed.get(name, set()) & set(subjects)) if name in self.audience else set()
            for name in ACTORS
        }


def url(name: str, *args) -> str:
    return reverse(f"demands:{name}", args=args)


def version(pk: int) -> int:
    return Demand.objects.values_list("version", flat=True).get(pk=pk)


def status_of(pk: int) -> str:
    return Demand.objects.values_list("status", flat=True).get(pk=pk)


def step(where: str, name: str, **data) -> Callable[[Client, World, object], object]:
    """A step posted from a demand's page (the console's or the member's), with the version it shows;
    a value given as a function is worked out from the world and the demand."""

    def send(c: Client, w: World, pk: int):
        fields = {k: (v(w, pk) if callable(v) else v) for k, v in data.items()}
        return c.post(url(where, pk, name), {"version": version(pk), **fields})

    return send


def became(action: str, status: str | None = None) -> Callable[[Seen], bool]:
    """The step is audited as the actor's, and the demand is in its new status."""
    return lambda s: s.audited(action, s.target) and (status is None or status_of(s.target) == status)


def shows(marker: Callable[[object], str]) -> Callable[[Seen], bool]:
    return lambda s: s.ok and marker(s.target) in s.html


def row(pk: int) -> str:
    return f'id="demand-{pk}"'


ENTERED = "楼道灯坏了，晚上看不见"


def place_fields(w: World, key: str) -> dict:
    """A place as the entry forms pick it: a building of an estate, or a community as a whole."""
    if key.endswith("_bldg"):
        return {"estate": w.areas[f"{key[:2]}_estate"].pk, "building": w.areas[key].pk}
    return {"community": w.areas[key].pk}


def entered(s: Seen) -> bool:
    return Demand.objects.filter(area_id=s.target, description=ENTERED).exists()


def place_key(w: World, pk: int) -> str:
    return next(k for k, area in w.areas.items() if area.pk == pk)


PAGES = [
    # --- the console: reads ------------------------------------------------------------------------
    Page(
        "GET console list",
        "list demands",
        lambda c, w, pk: c.get(url("console_list")),
        shows(row),
        STAFF,
        listed=True,
        reads=True,
    ),
    Page(
        "GET console late list",
        "list late demands",
        lambda c, w, pk: c.get(url("console_late")),
        shows(row),
        STAFF,
        listed=True,
        reads=True,
    ),
    Page(
        "GET console demand page",
        "view a demand",
        lambda c, w, pk: c.get(url("console_detail", pk)),
        shows(code_of),
        STAFF,
        reads=True,
    ),
    Page(
        "GET console assign picker's members",
        "assign to the estate branch",
        lambda c, w, pk: c.get(url("console_member_picks", pk)),
        lambda s: s.ok,
        STAFF,
        reads=True,
    ),
    # --- the console: staff entry (代录) -------------------------------------------------------------
    Page(
        "POST console entry (代录)",
        "enter for a resident (代录)",
        lambda c, w, pk: c.post(
            url("console_new"),
            {**place_fields(w, place_key(w, pk)), "source": "staff", "description": ENTERED},
        ),
        entered,
        STAFF,
        form_scoped=True,
    ),
    # --- the console: the steps on one demand ------------------------------------------------------
    Page(
        "POST console accept",
        "accept",
        step("console_act", "accept"),
        became("demand.accept", DemandStatus.ACCEPTED),
        STAFF,
    ),
    Page(
        "POST console decline",
        "decline",
        step("console_act", "decline", reason="不属于社区职责"),
        became("demand.decline", DemandStatus.DECLINED),
        STAFF,
    ),
    Page(
        "POST console assign to the estate branch",
        "assign to the estate branch",
        step("console_act", "assign", kind="branch", target_id=lambda w, pk: estate_of(pk)),
        became("demand.assign", DemandStatus.ASSIGNED),
        STAFF,
    ),
    Page(
        "POST console assign to the service team",
        "assign to the community's service team",
        step("console_act", "assign", kind="service_team", target_id=service_team_of),
        became("demand.assign", DemandStatus.ASSIGNED),
        STAFF,
    ),
    Page(
        "POST console recategorise",
        "recategorise",
        step("console_act", "recategorise", category="road"),
        lambda s: (
            s.audited("demand.recategorise", s.target)
            and Demand.objects.filter(pk=s.target, category__code="road").exists()
        ),
        STAFF,
    ),
    Page(
        "POST console escalate to the street",
        "escalate to the street",
        step("console_act", "escalate", target="street", reason="社区解决不了"),
        became("demand.escalate", DemandStatus.ESCALATED),
        STAFF,
    ),
    Page(
        "POST console merge a duplicate",
        "merge a duplicate",
        lambda c, w, pair: c.post(
            url("console_act", pair[0], "merge"), {"version": version(pair[0]), "demand_ids": [pair[1]]}
        ),
        lambda s: s.audited("demand.merge", s.target[0]) and status_of(s.target[1]) == DemandStatus.MERGED,
        STAFF,
    ),
    Page(
        "POST console start",
        "start",
        step("console_act", "start"),
        became("demand.start", DemandStatus.IN_PROGRESS),
        STAFF,
    ),
    Page(
        "POST console resolve",
        "resolve",
        step("console_act", "resolve", resolution="已疏通"),
        became("demand.resolve", DemandStatus.RESOLVED),
        STAFF,
    ),
    Page(
        "POST console note",
        "add a note",
        step("console_act", "note", text="已约好上门时间"),
        became("demand.note"),
        STAFF,
    ),
    Page(
        "POST console call-back rating (回访)",
        "rate (signed in)",
        step("console_act", "rate", rating=Rating.SATISFIED, comment=""),
        became("demand.rate", DemandStatus.CLOSED),
        STAFF,
    ),
    Page(
        "POST reveal the reporter's phone",
        "reveal the reporter's phone (audited)",
        lambda c, w, pk: c.post(url("reveal_phone", pk)),
        lambda s: s.ok and PHONE in s.html and s.audited("pii.reveal", s.target),
        shows_phone=True,
    ),
    # --- the console: 接哨 ------------------------------------------------------------------------
    Page(
        "GET escalation inbox",
        "list received escalations",
        lambda c, w, pk: c.get(url("escalations")),
        shows(lambda pk: f'id="esc-{pk}"'),
        STAFF,
        listed=True,
        reads=True,
    ),
    Page(
        "POST take an escalation on",
        "accept an escalation",
        lambda c, w, pk: c.post(url("escalation_answer", pk), {"decision": "accept", "answer": ""}),
        lambda s: s.audited("escalation.accept", s.target),
        STAFF,
    ),
    Page(
        "POST send an escalation back",
        "send an escalation back",
        lambda c, w, pk: c.post(
            url("escalation_answer", pk), {"decision": "decline", "answer": "应由社区办理"}
        ),
        lambda s: s.audited("escalation.decline", s.target),
        STAFF,
    ),
    Page(
        "POST report back on an escalation",
        "report back on an escalation",
        lambda c, w, pk: c.post(url("escalation_report", pk), {"answer": "已协调解决"}),
        lambda s: s.audited("escalation.report", s.target),
        STAFF,
    ),
    # --- the console: complaints and suggestions, the three rates -----------------------------------
    Page(
        "GET console complaints",
        "list complaints",
        lambda c, w, pk: c.get(url("console_feedback")),
        shows(lambda pk: f'id="feedback-{pk}"'),
        STAFF,
        listed=True,
        reads=True,
    ),
    Page(
        "POST answer a complaint",
        "answer a complaint",
        lambda c, w, pk: c.post(url("feedback_answer", pk), {"answer": "已督促整改"}),
        lambda s: s.audited("feedback.answer", s.target),
        STAFF,
    ),
    Page(
        "GET three rates of an area",
        "view the rates of an area",
        lambda c, w, pk: c.get(url("rates") + f"?area={pk}"),
        lambda s: s.ok and f'<option value="{s.target}" selected' in s.html,
        STAFF,
        reads=True,
    ),
    # --- the member's phone ------------------------------------------------------------------------
    Page(
        "GET my assigned demands (phone)",
        "list demands assigned to me",
        lambda c, w, pk: c.get(url("mine_list")),
        shows(lambda pk: f'href="{url("mine_detail", pk)}"'),
        listed=True,
        reads=True,
    ),
    Page(
        "GET a demand (phone)",
        "view a demand",
        lambda c, w, pk: c.get(url("mine_detail", pk)),
        shows(code_of),
        reads=True,
    ),
    Page("POST start (phone)", "start", step("mine_act", "start"), became("demand.start", "in_progress")),
    Page(
        "POST resolve (phone)",
        "resolve",
        step("mine_act", "resolve", resolution="已疏通"),
        became("demand.resolve", DemandStatus.RESOLVED),
    ),
    Page(
        "POST note (phone)", "add a note", step("mine_act", "note", text="已电话联系"), became("demand.note")
    ),
    Page(
        "POST opinion-collection post (phone)",
        "enter at a collection post",
        lambda c, w, pk: c.post(
            url("member_post"), {**place_fields(w, place_key(w, pk)), "description": ENTERED}
        ),
        entered,
        MEMBERS,
        only=("a1_bldg", "a2_bldg", "b1_bldg"),  # the form files under the estate, never the community
        form_scoped=True,
    ),
    # --- the resident's screens ----------------------------------------------------------------------
    Page(
        "GET my reported demands",
        "list my reported demands",
        lambda c, w, pk: c.get(url("my_reported")),
        shows(lambda pk: f'href="{url("track", code_of(pk))}"'),
        listed=True,
        reads=True,
    ),
    Page(
        "GET tracking page",
        "view by tracking code",
        lambda c, w, pk: c.get(url("track", code_of(pk))),
        shows(code_of),
        reads=True,
    ),
    Page(
        "POST rate by tracking code",
        "rate by tracking code",
        lambda c, w, pk: c.post(url("track_rate", code_of(pk)), {"rating": Rating.BASIC, "comment": ""}),
        lambda s: s.audited("demand.rate", s.target) and status_of(s.target) == DemandStatus.CLOSED,
    ),
    Page(
        "POST reopen by tracking code",
        "reopen by tracking code",
        lambda c, w, pk: c.post(url("track_reopen", code_of(pk)), {"reason": "还是堵"}),
        became("demand.reopen"),
    ),
    Page(
        "POST write a complaint",
        "write a complaint",
        lambda c, w, pk: c.post(
            url("feedback_new") + f"?community={pk}",
            {"kind": "complaint", "text": "办事太慢", "reporter_name": "", "reporter_phone": ""},
        ),
        lambda s: Feedback.objects.filter(community_id=s.target, text="办事太慢").exists(),
    ),
]


def db_state() -> tuple:
    """What a refused request, or any read, must leave exactly as it was."""
    return (*state(), Notification.objects.count())


def is_refusal(response, who: str, page: Page) -> bool:
    if who == "anonymous" and response.status_code == 302:
        return response["Location"].startswith(resolve_url(settings.LOGIN_URL))
    return response.status_code in (403, 404) or (page.form_scoped and response.status_code == 400)


def judge(page: Page, s: Seen, changed: bool) -> bool:
    """Whether the actor reached the target, after checking that the answer keeps the rules."""
    where = f"{page.name}: {s.who} on {s.target!r} (HTTP {s.response.status_code})"
    assert page.shows_phone or PHONE not in s.html, f"{where} shows the reporter's phone in full"
    if page.reads:
        assert not changed, f"{where} is a read, yet the database changed"
    if page.done(s):
        assert s.response.status_code in (200, 302), where
        return True
    assert not changed, f"{where} was refused, yet the database changed"
    if page.listed and s.ok:
        return False  # the list leaves the target out
    assert is_refusal(s.response, s.who, page), f"{where} neither did it nor refused it: {s.html[:300]}"
    return False


def attempts(page: Page, client: Client, w: World, who: str, subjects: dict) -> set[str]:
    """The targets the actor reached; each request in a savepoint rolled back afterwards."""
    before = db_state()
    batches = [subjects] if page.listed else [{name: obj} for name, obj in subjects.items()]
    reached = set()
    for batch in batches:
        with transaction.atomic():
            mark = AuditLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            response = page.send(client, w, next(iter(batch.values())))
            changed = db_state() != before
            for name, obj in batch.items():
                if judge(page, Seen(w, who, obj, response, mark), changed):
                    reached.add(name)
            transaction.set_rollback(True)
    return reached


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES, ids=lambda p: f"HTML {p.name}")
def test_permission_matrix_through_the_screens(page: Page, world: World, clients: dict[str, Client]):
    subjects = page.subjects(world)
    got = {name: attempts(page, clients[name], world, name, subjects) for name in ACTORS}
    assert got == page.expected(subjects)
