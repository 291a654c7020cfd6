"""Door-knocking campaigns (敲门行动): start one on households chosen by filter, record outcomes, close.

A campaign snapshots its households when it starts, each with the team holding it then (an active
members.ZoneAssignment), so later changes of zones do not move work already handed out. Teams record an
outcome per household from their phones; a building head, the estate secretary or community staff may
record too (Perm.VISIT over the household). A closed campaign takes no more outcomes.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import IO

from django.db import models, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, restrict
from huijia.accounts.services import audit, notify
from huijia.care.models import VulnerableKind
from huijia.care.selectors import vulnerable_household_ids
from huijia.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from huijia.core.excel import write_xlsx
from huijia.grid.models import Area, AreaKind, Household, Resident
from huijia.members.models import TeamMembership, ZoneAssignment
from huijia.visits import campaign_selectors
from huijia.visits.models import Campaign, CampaignHousehold, Outcome

MAX_NAME = 100
MAX_DESCRIPTION = 500
MAX_QUESTIONS = 20
MAX_QUESTION = 100
MAX_ANSWER = 200
MAX_NOTE = 200
BATCH = 1000


class Who(models.TextChoices):
    """Which households of the chosen area a campaign goes to."""

    ALL = "all", "全部住户"
    ELDERLY = "elderly", "有老年人的住户"  # a resident aged `min_age` or over (by birth year)
    VULNERABLE = "vulnerable", "有困难群体的住户"  # an active vulnerable person (of a kind, or any)


@dataclass(frozen=True)
class Selection:
    """The filter a campaign's households are chosen by.

    `area_id` is an estate or a building of the campaign's community (None: the whole community).
    """

    area_id: int | None = None
    who: str = Who.ALL
    min_age: int = 60
    vulnerable_kind: str = ""  # a care.VulnerableKind; "" for any kind


def selection_label(selection: dict) -> str:
    """The filter in words, as the campaign pages show it: "幸福小区 · 60岁以上老人户"."""
    where = selection.get("area_name") or _("全社区")
    who = selection.get("who", Who.ALL)
    if who == Who.ELDERLY:
        what = _("有{n}岁以上老人的住户").format(n=selection.get("min_age", 60))
    elif who == Who.VULNERABLE:
        kind = selection.get("vulnerable_kind") or ""
        label = VulnerableKind(kind).label if kind in VulnerableKind.values else _("困难群体")
        what = _("有{k}的住户").format(k=label)
    else:
        what = _("全部住户")
    return f"{where} · {what}"


def _invalid(field: str, message: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput(message, code=code, fields={field: [message]})


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise _invalid("name", _("请填写行动名称"), "name_required")
    if len(name) > MAX_NAME:
        raise _invalid("name", _("行动名称不超过{n}个字").format(n=MAX_NAME))
    return name


def _clean_questions(questions) -> list[str]:
    cleaned = [q.strip() for q in (questions or []) if q and q.strip()]
    if len(cleaned) > MAX_QUESTIONS:
        raise _invalid("questions", _("问题最多{n}个").format(n=MAX_QUESTIONS))
    if any(len(q) > MAX_QUESTION for q in cleaned):
        raise _invalid("questions", _("每个问题不超过{n}个字").format(n=MAX_QUESTION))
    if len(set(cleaned)) != len(cleaned):
        raise _invalid("questions", _("问题清单中有重复的问题"))
    return cleaned


def _check_selection(selection: Selection, community: Area) -> tuple[Area, dict]:
    if selection.who not in Who.values:
        raise _invalid("who", _("选户条件不正确"))
    area = community
    if selection.area_id is not None and selection.area_id != community.pk:
        area = Area.objects.filter(
            pk=selection.area_id,
            kind__in=(AreaKind.ESTATE, AreaKind.BUILDING),
            path__startswith=community.path,
        ).first()
        if area is None:
            raise _invalid("area_id", _("所选小区或楼栋不在该社区"))
    if selection.who == Who.ELDERLY and not 1 <= selection.min_age <= 120:
        raise _invalid("min_age", _("年龄应在1到120岁之间"))
    kind = selection.vulnerable_kind or ""
    if selection.who == Who.VULNERABLE and kind and kind not in VulnerableKind.values:
        raise _invalid("vulnerable_kind", _("困难群体类别不正确"))
    stored = {"who": selection.who, "area_id": area.pk, "area_name": area.name if area != community else ""}
    if selection.who == Who.ELDERLY:
        stored["min_age"] = selection.min_age
    if selection.who == Who.VULNERABLE:
        stored["vulnerable_kind"] = kind
    return area, stored


def selected_households(*, area: Area, selection: Selection, today: date | None = None) -> QuerySet:
    """Ids of the households under `area` that the selection picks (a values queryset)."""
    qs = Household.objects.filter(building__path__startswith=area.path)
    if selection.who == Who.ELDERLY:
        year = (today or timezone.localdate()).year - selection.min_age
        qs = qs.filter(pk__in=Resident.objects.filter(birth_year__lte=year).values("household_id"))
    elif selection.who == Who.VULNERABLE:
        qs = qs.filter(pk__in=vulnerable_household_ids(kind=selection.vulnerable_kind or None))
    return qs.values_list("pk", flat=True)


def _community_to_manage(actor: Actor, community_id: int) -> Area:
    communities = Area.objects.filter(pk=community_id, kind=AreaKind.COMMUNITY)
    community = restrict(communities, actor, Perm.MANAGE_CAMPAIGNS).first()
    if community is None:
        if restrict(communities, actor, Perm.VIEW).exists():
            raise Forbidden(_("敲门行动由社区党委发起和管理"))
        raise NotFound()
    return community


def count_selected(*, actor: Actor, community_id: int, selection: Selection) -> int:
    """How many households a campaign with this filter would go to (for the form's live preview)."""
    community = _community_to_manage(actor, community_id)
    area, _stored = _check_selection(selection, community)
    return selected_households(area=area, selection=selection).count()


@transaction.atomic
def start_campaign(
    *,
    actor: Actor,
    community_id: int,
    name: str,
    selection: Selection,
    questions: list[str] | None = None,
    due_on: date | None = None,
    description: str = "",
) -> Campaign:
    """Community staff start a door-knocking campaign; its households and their teams are fixed now."""
    community = _community_to_manage(actor, community_id)
    name = _clean_name(name)
    cleaned = _clean_questions(questions)
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise _invalid("description", _("说明不超过{n}个字").format(n=MAX_DESCRIPTION))
    if due_on is not None and due_on < timezone.localdate():
        raise _invalid("due_on", _("截止日期不能早于今天"), "due_in_past")
    area, stored = _check_selection(selection, community)
    household_ids = list(selected_households(area=area, selection=selection))
    if not household_ids:
        raise _invalid("who", _("没有符合条件的住户，请换一个范围或条件"), "no_households")
    campaign = Campaign.objects.create(
        community=community,
        name=name,
        description=description,
        questions=cleaned,
        selection=stored,
        created_by_id=actor.user_id,
        due_on=due_on,
    )
    teams = dict(
        ZoneAssignment.objects.filter(
            ended_at=None, household_id__in=selected_households(area=area, selection=selection)
        ).values_list("household_id", "team_id")
    )
    CampaignHousehold.objects.bulk_create(
        (CampaignHousehold(campaign=campaign, household_id=h, team_id=teams.get(h)) for h in household_ids),
        batch_size=BATCH,
    )
    audit(actor=actor, action="campaign.start", target=campaign, households=len(household_ids), **stored)
    _tell_teams(campaign, Counter(teams.values()))
    return campaign


def _tell_teams(campaign: Campaign, per_team: Counter) -> None:
    """Each member of a team with households in the campaign learns how many are theirs."""
    url = reverse("campaigns:share", args=[campaign.pk])
    members = TeamMembership.objects.filter(team_id__in=list(per_team), ended_at=None)
    for user_id, team_id in members.values_list("member__user_id", "team_id"):
        text = _("社区发起了敲门行动“{name}”，您所在小组负责{n}户，请抽空走访登记。").format(
            name=campaign.name, n=per_team[team_id]
        )
        notify(user_id=user_id, text=text, url=url)


RECORDABLE = (Outcome.REACHED, Outcome.NOT_HOME, Outcome.REFUSED, Outcome.DONE)


def _clean_answers(answers, questions: list[str]) -> dict[str, str]:
    answers = list(answers or [])
    if len(answers) > len(questions):
        raise _invalid("answers", _("回答的数量多于问题的数量"))
    cleaned = {}
    for question, answer in zip(questions, answers, strict=False):
        answer = (answer or "").strip()
        if len(answer) > MAX_ANSWER:
            raise _invalid("answers", _("每个回答不超过{n}个字").format(n=MAX_ANSWER))
        if answer:
            cleaned[question] = answer
    return cleaned


def entry_to_record(*, actor: Actor, campaign_id: int, household_id: int, lock: bool = False):
    """The campaign's entry for a household the actor may visit; NotFound when either is out of reach."""
    qs = CampaignHousehold.objects.select_related(
        "campaign", "household", "household__building", "team", "updated_by"
    )
    if lock:
        qs = qs.select_for_update(of=("self",))
    entry = restrict(qs, actor, Perm.VISIT).filter(campaign_id=campaign_id, household_id=household_id).first()
    if entry is None:
        raise NotFound()
    return entry


@transaction.atomic
def record_outcome(
    *,
    actor: Actor,
    campaign_id: int,
    household_id: int,
    outcome: str,
    answers: list[str] | None = None,
    note: str = "",
) -> CampaignHousehold:
    """A team member (or a building head, the estate secretary, staff) records what came of one door.

    `answers` follow the campaign's question list in order; an empty answer is left out. Recording
    again replaces the earlier outcome (not at home on Monday, done on Saturday).
    """
    entry = entry_to_record(actor=actor, campaign_id=campaign_id, household_id=household_id, lock=True)
    if entry.campaign.closed_at is not None:
        raise Conflict(_("该敲门行动已结束，不能再登记"), code="campaign_closed")
    if outcome not in RECORDABLE:
        raise _invalid("outcome", _("请选择走访结果：已见面、不在家、拒绝或已完成"), "bad_outcome")
    entry.answers = _clean_answers(answers, entry.campaign.questions)
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise _invalid("note", _("备注不超过{n}个字").format(n=MAX_NOTE))
    entry.outcome = outcome
    entry.note = note
    entry.updated_by_id = actor.user_id
    entry.updated_at = timezone.now()
    if outcome in MET and entry.visit_id is None:
        entry.visit = _visit_of(actor, entry)
    entry.save(update_fields=["outcome", "answers", "note", "updated_by", "updated_at", "visit"])
    audit(actor=actor, action="campaign.outcome", target=entry, campaign=campaign_id, outcome=outcome)
    return entry


MET = (Outcome.REACHED, Outcome.DONE)  # someone opened the door: that is a visit


def _visit_of(actor: Actor, entry: CampaignHousehold):
    """A door where someone was met is a household visit too: it is recorded once, here, so it counts
    in the visit ledger and for care pairings without being typed again."""
    from huijia.visits.services import VisitInput, record_visit

    data = VisitInput(
        household_id=entry.household_id,
        visited_on=timezone.localdate(),
        notes=_("敲门行动：{c}").format(c=entry.campaign.name)[:200],
    )
    key = f"campaign-entry-{entry.pk}"
    return record_visit(actor=actor, data=data, idempotency_key=key, campaign_id=entry.campaign_id).visit


@transaction.atomic
def close_campaign(*, actor: Actor, campaign_id: int) -> Campaign:
    """Community staff end a campaign: its results stay, no more outcomes are taken."""
    qs = Campaign.objects.select_for_update().filter(pk=campaign_id)
    campaign = restrict(qs, actor, Perm.MANAGE_CAMPAIGNS).first()
    if campaign is None:
        if campaign_selectors.visible_campaigns(actor).filter(pk=campaign_id).exists():
            raise Forbidden(_("敲门行动由社区党委发起和管理"))
        raise NotFound()
    if campaign.closed_at is not None:
        raise Conflict(_("该敲门行动已经结束"), code="campaign_closed")
    campaign.closed_at = timezone.now()
    campaign.save(update_fields=["closed_at"])
    audit(actor=actor, action="campaign.close", target=campaign)
    return campaign


EXPORT_WIDTHS = (16, 8, 8, 6, 8, 14, 10)


def _who(user) -> str:
    return (user.display_name or user.username) if user else ""


@transaction.atomic
def export_campaign(*, actor: Actor, campaign_id: int, dest: IO[bytes]) -> tuple[Campaign, int]:
    """The result of a campaign as Excel, one row per household; audited. No phone numbers in it."""
    qs = Campaign.objects.select_related("community").filter(pk=campaign_id)
    campaign = restrict(qs, actor, Perm.EXPORT).first()
    if campaign is None:
        if campaign_selectors.visible_campaigns(actor).filter(pk=campaign_id).exists():
            raise Forbidden(_("您没有导出该敲门行动结果的权限"))
        raise NotFound()
    questions = list(campaign.questions)
    header = [_("小区"), _("楼栋"), _("单元"), _("楼层"), _("房号"), _("包干小组"), _("走访结果")]
    header += [*questions, _("备注"), _("登记人"), _("登记时间")]

    def rows():
        for entry in campaign_selectors.export_rows(actor=actor, campaign=campaign).iterator(chunk_size=2000):
            h = entry.household
            when = timezone.localtime(entry.updated_at).strftime("%Y-%m-%d %H:%M") if entry.updated_at else ""
            yield (
                h.building.parent.name if h.building.parent else "",
                h.building.name,
                h.unit,
                h.floor,
                h.room,
                entry.team.name if entry.team else _("未分组"),
                entry.get_outcome_display(),
                *(entry.answers.get(q, "") for q in questions),
                entry.note,
                _who(entry.updated_by),
                when,
            )

    widths = (*EXPORT_WIDTHS, *([24] * len(questions)), 24, 10, 17)
    count = write_xlsx(dest, title=_("走访结果"), header=header, rows=rows(), widths=widths)
    audit(actor=actor, action="export.campaign", target=campaign, rows=count)
    return campaign, count
