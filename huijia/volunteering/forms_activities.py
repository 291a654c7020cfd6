"""Forms of the activity screens: the console's filters, the activity form with its slot rows, the
service post form with its recurrence, the cancel form. They only parse what was typed; the services
(huijia.volunteering.activities) decide what is allowed and say why not."""

from datetime import datetime

from django import forms
from django.forms import formset_factory
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huijia.core.forms import ServiceErrorsMixin
from huijia.volunteering.activities import ActivityInput, Recurrence, ShiftTime, SlotInput
from huijia.volunteering.activity_selectors import OrganiserOption
from huijia.volunteering.models import ActivityKind, ActivityStatus, Audience, OrganiserKind, ServiceCategory

WEEKDAYS = [
    (0, _("周一")),
    (1, _("周二")),
    (2, _("周三")),
    (3, _("周四")),
    (4, _("周五")),
    (5, _("周六")),
    (6, _("周日")),
]
PERIOD_CHOICES = [
    ("", _("全部时间")),
    ("upcoming", _("未结束")),
    ("month", _("本月")),
    ("past", _("已结束")),
]
SHIFT_ROWS = 3


class ActivityFilterForm(forms.Form):
    community = forms.IntegerField(required=False)
    kind = forms.ChoiceField(choices=[("", _("全部类型")), *ActivityKind.choices], required=False)
    status = forms.ChoiceField(choices=[("", _("全部状态")), *ActivityStatus.choices], required=False)
    period = forms.ChoiceField(choices=PERIOD_CHOICES, required=False)


def organiser_fields(data: dict, options: list[OrganiserOption]) -> dict:
    """The ActivityInput fields naming the organiser picked in the form ("community:12" …)."""
    chosen = next(o for o in options if o.value == data["organiser"])
    kind, pk = chosen.value.split(":")
    pk = int(pk)
    if kind == "community":
        return {"organiser_kind": OrganiserKind.COMMUNITY, "community_id": pk}
    if kind == "estate":
        return {"organiser_kind": OrganiserKind.ESTATE, "estate_id": pk}
    if kind == "team":
        return {"organiser_kind": OrganiserKind.TEAM, "service_team_id": pk}
    from huijia.volunteering.models import Pairing

    pairing = Pairing.objects.only("work_unit_id", "community_id").get(pk=pk)
    return {
        "organiser_kind": OrganiserKind.WORK_UNIT,
        "community_id": pairing.community_id,
        "work_unit_id": pairing.work_unit_id,
    }


def pairing_choices(pairings) -> list[tuple[str, str]]:
    """The "结对共建" choice: the community's active pairings, by unit and community."""
    rows = [(str(p.pk), f"{p.work_unit.name}（{p.community.name}）") for p in pairings]
    return [("", _("不是结对共建活动")), *rows]


class _Common(ServiceErrorsMixin, forms.Form):
    service_field_aliases = {
        "community_id": "organiser",
        "estate_id": "organiser",
        "service_team_id": "organiser",
        "organiser_kind": "organiser",
        "pairing_id": "pairing",
        "slots": None,
    }

    organiser = forms.ChoiceField(label=_("发布方"))
    title = forms.CharField(label=_("名称"), max_length=100)
    category = forms.ChoiceField(label=_("服务类别"), choices=ServiceCategory.choices)
    audience = forms.ChoiceField(label=_("参加对象"), choices=Audience.choices, initial=Audience.OPEN)
    description = forms.CharField(
        label=_("内容"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )

    pairing = forms.TypedChoiceField(
        label=_("结对共建"),
        required=False,
        coerce=int,
        empty_value=None,
        help_text=_(
            "和本社区结对的单位一起办的活动，选上后也算作单位的共建活动（社区、小区党支部发布时可选）。"
        ),
    )

    def __init__(self, *args, options: list[OrganiserOption], pairings=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.options = options
        self.fields["organiser"].choices = [(o.value, o.label) for o in options]
        if pairings:
            self.fields["pairing"].choices = pairing_choices(pairings)
        else:
            del self.fields["pairing"]

    def activity_input(self, **extra) -> ActivityInput:
        d = self.cleaned_data
        return ActivityInput(
            title=d["title"],
            category=d["category"],
            audience=d["audience"],
            description=d["description"],
            pairing_id=d.get("pairing"),
            **organiser_fields(d, self.options),
            **extra,
        )


class ActivityForm(_Common):
    kind = forms.ChoiceField(
        label=_("类型"),
        choices=[(ActivityKind.ACTIVITY, _("志愿活动")), (ActivityKind.TASK, _("任务认领（名额多）"))],
        initial=ActivityKind.ACTIVITY,
    )


class EditForm(ServiceErrorsMixin, forms.Form):
    service_field_aliases = {"slots": None}

    title = forms.CharField(label=_("名称"), max_length=100)
    description = forms.CharField(
        label=_("内容"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )


def _aware(day, at) -> datetime:
    return datetime.combine(day, at, tzinfo=timezone.get_current_timezone())


class SlotForm(forms.Form):
    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    venue = forms.CharField(label=_("地点"), max_length=100)
    label = forms.CharField(label=_("班次"), max_length=32, required=False)
    day = forms.DateField(label=_("日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    starts = forms.TimeField(label=_("开始"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    ends = forms.TimeField(label=_("结束"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    capacity = forms.IntegerField(label=_("名额"), min_value=1, max_value=10000)

    def clean(self):
        data = super().clean()
        if data.get("starts") and data.get("ends") and data["ends"] <= data["starts"]:
            self.add_error("ends", _("结束时间要晚于开始时间"))
        return data

    def slot_input(self) -> SlotInput:
        d = self.cleaned_data
        return SlotInput(
            id=d.get("id"),
            venue=d["venue"],
            label=d.get("label", ""),
            starts_at=_aware(d["day"], d["starts"]),
            ends_at=_aware(d["day"], d["ends"]),
            capacity=d["capacity"],
        )

    @staticmethod
    def initial_of(slot) -> dict:
        start, end = timezone.localtime(slot.starts_at), timezone.localtime(slot.ends_at)
        return {
            "id": slot.pk,
            "venue": slot.venue,
            "label": slot.label,
            "day": start.date(),
            "starts": start.time(),
            "ends": end.time(),
            "capacity": slot.capacity,
        }


SlotFormSet = formset_factory(SlotForm, extra=0, min_num=1, validate_min=True, max_num=200, validate_max=True)


def slot_inputs(formset) -> tuple[SlotInput, ...]:
    return tuple(f.slot_input() for f in formset.forms if f.cleaned_data)


class ShiftsForm(forms.Form):
    """A post's shifts: one venue, on some weekdays at up to three times a day, between two dates."""

    venue = forms.CharField(label=_("地点"), max_length=100)
    capacity = forms.IntegerField(label=_("每班人数"), min_value=1, max_value=10000, initial=2)
    date_from = forms.DateField(
        label=_("从"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    date_to = forms.DateField(
        label=_("到"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    weekdays = forms.TypedMultipleChoiceField(
        label=_("每周哪几天"), choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for i in range(1, SHIFT_ROWS + 1):
            time_widget = {"widget": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}
            self.fields[f"label_{i}"] = forms.CharField(label=_("班次名称"), max_length=32, required=False)
            self.fields[f"starts_{i}"] = forms.TimeField(label=_("开始"), required=False, **time_widget)
            self.fields[f"ends_{i}"] = forms.TimeField(label=_("结束"), required=False, **time_widget)

    def shift_rows(self) -> list[tuple]:
        return [
            (self[f"label_{i}"], self[f"starts_{i}"], self[f"ends_{i}"]) for i in range(1, SHIFT_ROWS + 1)
        ]

    def clean(self):
        data = super().clean()
        times = []
        for i in range(1, SHIFT_ROWS + 1):
            starts, ends = data.get(f"starts_{i}"), data.get(f"ends_{i}")
            if starts is None and ends is None:
                continue
            if starts is None or ends is None:
                self.add_error(f"ends_{i}", _("请填写班次的开始和结束时间"))
            elif ends <= starts:
                self.add_error(f"ends_{i}", _("结束时间要晚于开始时间"))
            else:
                times.append(ShiftTime(starts, ends, data.get(f"label_{i}", "")))
        if not times and not self.errors:
            self.add_error("starts_1", _("请至少填写一个班次的时间"))
        data["times"] = tuple(times)
        return data

    def recurrence(self) -> Recurrence:
        d = self.cleaned_data
        return Recurrence(
            date_from=d["date_from"],
            date_to=d["date_to"],
            weekdays=frozenset(d["weekdays"]),
            times=d["times"],
            venue=d["venue"],
            capacity=d["capacity"],
        )


class PostForm(_Common, ShiftsForm):
    """A new service post: what it is, who organises it, and its shifts."""


class ExtendForm(ServiceErrorsMixin, ShiftsForm):
    """More shifts for a post that is running (more weeks, another shift a day)."""

    service_field_aliases = {"slots": None, "kind": None}


class OneSlotForm(ServiceErrorsMixin, SlotForm):
    """One slot still to come (a post's shift): venue, label, day, times, places."""

    service_field_aliases = {
        "slots": None,
        "slots.0.venue": "venue",
        "slots.0.starts_at": "starts",
        "slots.0.ends_at": "ends",
        "slots.0.capacity": "capacity",
    }


class PairingForm(forms.Form):
    pairing = forms.TypedChoiceField(label=_("结对共建单位"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, pairings=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pairing"].choices = pairing_choices(pairings)


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("取消原因（会告诉已报名的人）"), max_length=200, required=False)
