"""Sign-ins on a generated world: one demo login per role, and the benchmark's users.

The demo logins share one fixed password so that anyone trying the demo can sign in. That is for a
local demo only: `seed --scale demo` refuses to run when DEBUG is off. The benchmark users have no
usable password at all (the benchmark signs in with `force_login`).
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from huijia.accounts.models import RoleGrant
from huijia.accounts.roles import Role
from huijia.accounts.scope import actor_for
from huijia.core.seeding.generator import World
from huijia.demands.models import Demand, DemandSource
from huijia.grid.models import Resident
from huijia.members.models import Member, Registration

DEMO_PASSWORD = "huijia-demo"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: Promise  # what the role is called, in Chinese
    display_name: str


DEMO_LOGINS = (
    DemoLogin("zuzhibu", _("市委组织部"), "周科长"),
    DemoLogin("jiedao", _("街道党工委"), "吴委员"),
    DemoLogin("shequ", _("社区党委工作人员"), "郑干事"),
    DemoLogin("zhibu", _("小区党支部书记"), "冯书记"),
    DemoLogin("louzhang", _("楼栋长"), "陈楼长"),
    DemoLogin("danwei", _("单位党组织"), "褚组织员"),
    DemoLogin("dangyuan", _("在职党员（已报到）"), ""),
    DemoLogin("xindangyuan", _("在职党员（尚未报到）"), ""),
    DemoLogin("jumin", _("居民"), ""),
    DemoLogin("admin", _("系统管理员"), "系统管理员"),
)
BENCH_STAFF = "bench_staff"
BENCH_MEMBER = "bench_member"


def create_demo_logins(world: World) -> None:
    """One user per role on the demo world's first community, all with DEMO_PASSWORD."""
    community = world.community_ids[0]
    estate = next(e for e in world.estates[community] if world.buildings[e])
    story = world.stories[world.showcase[(0, "transferred")] - 1]  # approved here, history elsewhere
    users = _create_users(
        [login.username for login in DEMO_LOGINS],
        make_password(DEMO_PASSWORD),
        {login.username: login.display_name for login in DEMO_LOGINS},
    )
    areas = {
        "zuzhibu": (Role.ORG_DEPT, world.city_id),
        "jiedao": (Role.STREET, _parent(world, community)),
        "shequ": (Role.COMMUNITY, community),
        "zhibu": (Role.ESTATE, estate),
        "louzhang": (Role.BUILDING, world.buildings[estate][0].id),
    }
    RoleGrant.objects.bulk_create(
        [RoleGrant(user=users[name], role=role, area_id=area) for name, (role, area) in areas.items()]
        + [RoleGrant(user=users["danwei"], role=Role.WORK_UNIT, work_unit_id=story.work_unit_id)]
    )
    _link(Member, story.member_id, users["dangyuan"])
    _link(Member, world.showcase[(0, "none")], users["xindangyuan"])
    _link(Resident, world.residents[0][0], users["jumin"])
    _own_demands(world.residents[0][1], users["jumin"])
    get_user_model().objects.filter(pk=users["admin"].pk).update(is_staff=True, is_superuser=True)
    Registration.objects.filter(community_id=community, reviewed_at__isnull=False).update(
        reviewed_by=users["shequ"]
    )
    _demo_teams(users["shequ"], community)


def _own_demands(household_id: int, user) -> None:
    """The demo resident reported the demands the seed filed from their household themselves."""
    Demand.objects.filter(household_id=household_id, source=DemandSource.RESIDENT).update(reporter=user)


def _demo_teams(staff, community_id: int) -> None:
    """The demo community's teams and zones in force, as community staff would commit them, so that
    its members have households to visit; staff can propose and commit a new plan at any time."""
    from huijia.members.team_services import commit_plan, propose_teams

    actor = actor_for(get_user_model().objects.get(pk=staff.pk))
    plan = propose_teams(actor=actor, community_id=community_id)
    if plan.data.get("teams"):
        commit_plan(actor=actor, plan_id=plan.pk, version=plan.data["version"])


def create_bench_users(world: World) -> None:
    """Community staff on the community with the longest queue, and a member with a history there."""
    community = world.busiest_community_id()
    here = [s for s in world.stories if world.community_ids[s.community] == community]
    candidates = [s for s in here if s.kind in ("transferred", "approved")]
    member = min(candidates, key=lambda s: s.kind != "transferred").member_id  # one with history first
    users = _create_users([BENCH_STAFF, BENCH_MEMBER], make_password(None), {})
    RoleGrant.objects.create(user=users[BENCH_STAFF], role=Role.COMMUNITY, area_id=community)
    _link(Member, member, users[BENCH_MEMBER])


def _create_users(usernames: list[str], password_hash: str, display_names: dict[str, str]) -> dict:
    """Creates the missing users with one precomputed hash; existing ones are reused untouched."""
    User = get_user_model()
    existing = set(User.objects.filter(username__in=usernames).values_list("username", flat=True))
    User.objects.bulk_create(
        [
            User(username=u, password=password_hash, display_name=display_names.get(u, ""))
            for u in usernames
            if u not in existing
        ]
    )
    return {u.username: u for u in User.objects.filter(username__in=usernames)}


def _link(model, pk: int, user) -> None:
    """Signs `user` in as a seeded member or resident, who lends the user their name."""
    row = model.objects.only("name").get(pk=pk)
    model.objects.filter(pk=pk).update(user=user)
    if not user.display_name:
        type(user).objects.filter(pk=user.pk).update(display_name=row.name)


def _parent(world: World, area_id: int) -> int:
    return world.areas[area_id - 1][1]
