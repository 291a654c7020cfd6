"""Complaints and suggestions (投诉建议): a channel always open to residents and members.

Anyone may write to a community, with or without an account (a tracking code comes back); a signed-in
author sees their own; community staff (MANAGE_DEMANDS) answer, and the author is told. A complaint
may name the demand it is about.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, get_visible, restrict
from huijia.accounts.services import audit, notify
from huijia.core.errors import Conflict, InvalidInput, NotFound
from huijia.core.personal import validate_contact_phone
from huijia.demands.models import Demand, Feedback, FeedbackKind, new_tracking_code
from huijia.grid.models import Area, AreaKind

MAX_TEXT = 2000
MAX_ANSWER = 2000


def _bad(field_name: str, message: str, code: str) -> InvalidInput:
    return InvalidInput(message, code=code, fields={field_name: [message]})


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class FeedbackInput:
    community_id: int
    kind: str
    text: str
    contact_name: str = ""
    contact_phone: str = ""
    demand_code: str = ""  # the tracking code of the demand it is about, if any


@transaction.atomic
def submit_feedback(*, actor: Actor, data: FeedbackInput) -> Feedback:
    if data.kind not in FeedbackKind.values:
        raise _bad("kind", _("请选择投诉或建议"), "bad_kind")
    text = (data.text or "").strip()
    if not text:
        raise _bad("text", _("请填写内容"), "text_empty")
    if len(text) > MAX_TEXT:
        raise _bad("text", _("内容不超过2000个字"), "text_too_long")
    community = Area.objects.filter(pk=_int(data.community_id), kind=AreaKind.COMMUNITY).first()
    if community is None:
        raise _bad("community_id", _("请选择社区"), "unknown_community")
    name = (data.contact_name or "").strip()
    if len(name) > 40:
        raise _bad("contact_name", _("联系人姓名不超过40个字"), "name_too_long")
    try:
        phone = validate_contact_phone((data.contact_phone or "").strip())
    except ValidationError as exc:
        message = exc.messages[0]
        raise InvalidInput(message, code="bad_phone", fields={"contact_phone": exc.messages}) from None
    demand = None
    code = (data.demand_code or "").strip().upper()
    if code:
        demand = Demand.objects.filter(tracking_code=code, community=community).first()
        if demand is None:
            raise _bad("demand_code", _("没有找到这个查询码对应的诉求"), "unknown_demand")
    feedback = Feedback(
        community=community,
        kind=data.kind,
        text=text,
        author_id=actor.user_id,
        contact_name=name,
        contact_phone=phone,
        demand=demand,
    )
    _save_new(feedback)
    audit(actor=actor, action="feedback.submit", target=feedback, kind=data.kind)
    return feedback


def _save_new(feedback: Feedback) -> None:
    """Saves new feedback, drawing another tracking code in the unlikely case the first is taken."""
    for _attempt in range(5):
        feedback.tracking_code = new_tracking_code()
        try:
            with transaction.atomic():
                feedback.save()
            return
        except IntegrityError:
            if not Feedback.objects.filter(tracking_code=feedback.tracking_code).exists():
                raise
    raise Conflict(_("系统繁忙，请稍后再提交"))


@transaction.atomic
def answer_feedback(*, actor: Actor, feedback_id: int, answer: str) -> Feedback:
    answer = (answer or "").strip()
    if not answer:
        raise _bad("answer", _("请填写答复内容"), "answer_empty")
    if len(answer) > MAX_ANSWER:
        raise _bad("answer", _("答复不超过2000个字"), "answer_too_long")
    feedback = (
        restrict(Feedback.objects.all(), actor, Perm.MANAGE_DEMANDS)
        .select_for_update(of=("self",))
        .filter(pk=feedback_id)
        .first()
    )
    if feedback is None:
        raise NotFound()
    if feedback.answered_at is not None:
        raise Conflict(_("这条投诉建议已经答复过了"), code="already_answered")
    feedback.answer = answer
    feedback.answered_by_id = actor.user_id
    feedback.answered_at = timezone.now()
    feedback.save(update_fields=["answer", "answered_by", "answered_at"])
    audit(actor=actor, action="feedback.answer", target=feedback)
    notify(user_id=feedback.author_id, text=_("您的%(kind)s已有答复") % {"kind": feedback.get_kind_display()})
    return feedback


def feedback_for(
    *, actor: Actor, answered: bool | None = None, community_id: int | None = None
) -> QuerySet[Feedback]:
    """Staff: the community's complaints and suggestions; an author: their own. Newest first."""
    qs = restrict(Feedback.objects.all(), actor, Perm.VIEW).select_related("community", "demand")
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if answered is not None:
        qs = qs.filter(answered_at__isnull=not answered)
    return qs.order_by("-created_at", "-pk")


def feedback_item(*, actor: Actor, feedback_id: int) -> Feedback:
    return get_visible(Feedback.objects.select_related("community", "demand"), actor, feedback_id)


def feedback_by_code(*, tracking_code: str) -> Feedback:
    feedback = (
        Feedback.objects.select_related("community")
        .filter(tracking_code=(tracking_code or "").strip().upper()[:12])
        .first()
    )
    if feedback is None:
        raise NotFound()
    return feedback
