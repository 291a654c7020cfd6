"""Complaints and suggestions (投诉建议): anyone writes, staff answer once, the author is told."""

import pytest

from huijia.accounts.models import AuditLog
from huijia.accounts.scope import ANONYMOUS
from huijia.core.errors import Conflict, InvalidInput, NotFound
from huijia.demands.feedback import (
    FeedbackInput,
    answer_feedback,
    feedback_by_code,
    feedback_for,
    feedback_item,
    submit_feedback,
)
from huijia.demands.models import Feedback
from huijia.demands.tests.test_services import inbox, report


def write(world, who=None, *, community="a1", kind="complaint", text="物业电话总是没人接", **fields):
    actor = ANONYMOUS if who is None else world.actor(who)
    data = FeedbackInput(community_id=world.areas[community].pk, kind=kind, text=text, **fields)
    return submit_feedback(actor=actor, data=data)


def stored() -> tuple[int, int]:
    return Feedback.objects.count(), AuditLog.objects.filter(action__startswith="feedback.").count()


def test_an_anonymous_resident_complains_and_gets_a_tracking_code(world):
    feedback = write(world, contact_name=" 王阿姨 ", contact_phone="139-0000-1234")
    feedback.refresh_from_db()
    assert (feedback.kind, feedback.text, feedback.author) == ("complaint", "物业电话总是没人接", None)
    assert (feedback.contact_name, feedback.contact_phone) == ("王阿姨", "13900001234")
    assert feedback.community == world.areas["a1"]
    assert len(feedback.tracking_code) == 8
    assert feedback_by_code(tracking_code=f" {feedback.tracking_code.lower()} ") == feedback
    assert AuditLog.objects.filter(action="feedback.submit", target_id=str(feedback.pk)).exists()
    with pytest.raises(NotFound):
        feedback_by_code(tracking_code="ZZZZZZZZ")
    with pytest.raises(NotFound):
        feedback_by_code(tracking_code="")


def test_a_signed_in_author_sees_their_own_and_nobody_elses(world):
    mine = write(world, "resident", kind="suggestion", text="建议在3栋门口装一个休息椅")
    write(world, "member", text="活动通知发得太晚")
    assert mine.author == world.users["resident"]
    assert list(feedback_for(actor=world.actor("resident"))) == [mine]
    assert feedback_item(actor=world.actor("resident"), feedback_id=mine.pk) == mine
    with pytest.raises(NotFound):
        feedback_item(actor=world.actor("member"), feedback_id=mine.pk)
    assert not feedback_for(actor=ANONYMOUS).exists()


def test_a_complaint_may_name_the_demand_it_is_about(world):
    demand = report(world, "resident")
    feedback = write(world, "resident", text="诉求拖了一周没人管", demand_code=demand.tracking_code.lower())
    assert feedback.demand == demand
    with pytest.raises(InvalidInput) as elsewhere:  # a demand of another community is not found here
        write(world, community="a2", demand_code=demand.tracking_code)
    assert elsewhere.value.code == "unknown_demand"


def test_html_is_stored_as_typed(world):
    text = "<script>alert('x')</script> 楼道 <b>太黑</b>"
    assert Feedback.objects.get(pk=write(world, text=text).pk).text == text


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"text": ""}, "text_empty"),
        ({"text": "  \n"}, "text_empty"),
        ({"text": "长" * 100_000}, "text_too_long"),
        ({"kind": "praise"}, "bad_kind"),
        ({"community": "a1_estate"}, "unknown_community"),
        ({"community": "street_a"}, "unknown_community"),
        ({"contact_name": "名" * 41}, "name_too_long"),
        ({"contact_phone": "12345"}, "bad_phone"),
        ({"demand_code": "NOPE2345"}, "unknown_demand"),
    ],
    ids=lambda v: v if isinstance(v, str) else ",".join(v),
)
def test_bad_input_is_refused_and_nothing_stored(world, fields, code):
    before = stored()
    with pytest.raises(InvalidInput) as refused:
        write(world, **fields)
    assert refused.value.code == code
    assert refused.value.message
    assert stored() == before


def test_an_unknown_or_malformed_community_is_refused(world):
    for community_id in (999_999, "abc", None):
        with pytest.raises(InvalidInput):
            submit_feedback(
                actor=ANONYMOUS, data=FeedbackInput(community_id=community_id, kind="complaint", text="x")
            )


def test_staff_answer_once_and_the_author_is_told(world, django_capture_on_commit_callbacks):
    feedback = write(world, "resident")
    anonymous = write(world)
    with django_capture_on_commit_callbacks(execute=True):
        answered = answer_feedback(
            actor=world.actor("staff"), feedback_id=feedback.pk, answer=" 已督促物业公布值班电话 "
        )
    assert (answered.answer, answered.answered_by) == ("已督促物业公布值班电话", world.users["staff"])
    assert answered.answered_at is not None
    assert inbox(world, "resident") == ["您的投诉已有答复"]
    assert AuditLog.objects.filter(action="feedback.answer", target_id=str(feedback.pk)).count() == 1
    with pytest.raises(Conflict) as twice:
        answer_feedback(actor=world.actor("staff"), feedback_id=feedback.pk, answer="再答一次")
    assert twice.value.code == "already_answered"
    assert Feedback.objects.get(pk=feedback.pk).answer == "已督促物业公布值班电话"
    # an anonymous author reads the answer by the tracking code
    answer_feedback(actor=world.actor("staff"), feedback_id=anonymous.pk, answer="已处理")
    assert feedback_by_code(tracking_code=anonymous.tracking_code).answer == "已处理"
    assert [f.pk for f in feedback_for(actor=world.actor("staff"), answered=False)] == []
    assert len(feedback_for(actor=world.actor("staff"), answered=True)) == 2


@pytest.mark.parametrize("answer", ["", "   ", "答" * 2001])
def test_an_empty_or_endless_answer_is_refused(world, answer):
    feedback = write(world)
    with pytest.raises(InvalidInput):
        answer_feedback(actor=world.actor("staff"), feedback_id=feedback.pk, answer=answer)
    assert Feedback.objects.get(pk=feedback.pk).answered_at is None


@pytest.mark.parametrize(
    "who", ["other_staff", "estate_secretary", "street_staff", "org_dept", "member", "resident", "outsider"]
)
def test_only_the_communitys_staff_answer(world, who):
    feedback = write(world, "resident")
    with pytest.raises(NotFound):
        answer_feedback(actor=world.actor(who), feedback_id=feedback.pk, answer="收到")
    assert Feedback.objects.get(pk=feedback.pk).answered_at is None
