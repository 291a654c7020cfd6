"""Forms of the attendance screens: roll call, a correction request and its decision, people served,
and the served resident's confirmation. They only parse; the services in attendance.py decide."""

from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from huijia.core.forms import ServiceErrorsMixin
from huijia.volunteering.attendance import MAX_COMMENT, MAX_REASON
from huijia.volunteering.models import AttendanceMethod


class CorrectionForm(ServiceErrorsMixin, forms.Form):
    hours = forms.DecimalField(
        label=_("应为多少小时"),
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0.01"),
        widget=forms.NumberInput(attrs={"step": "0.25", "inputmode": "decimal"}),
        error_messages={"required": _("请填写时长"), "invalid": _("请填写数字，例如 1.5")},
    )
    reason = forms.CharField(
        label=_("原因"),
        max_length=MAX_REASON,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("例如：忘了扫码签退，实际服务到结束")}),
        error_messages={"required": _("请说明更正的原因")},
    )


class DecideForm(ServiceErrorsMixin, forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("同意")), ("reject", _("不同意"))])
    answer = forms.CharField(label=_("答复"), max_length=MAX_REASON, required=False)


class PeopleServedForm(ServiceErrorsMixin, forms.Form):
    people_served = forms.IntegerField(
        label=_("服务群众人次"),
        min_value=0,
        max_value=100_000,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={"required": _("请填写人次"), "invalid": _("请填写整数人次")},
    )


class ConfirmForm(ServiceErrorsMixin, forms.Form):
    comment = forms.CharField(
        label=_("想说的话（可不填）"),
        max_length=MAX_COMMENT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class RemoveRecordForm(ServiceErrorsMixin, forms.Form):
    reason = forms.CharField(
        label=_("删除原因"),
        max_length=MAX_REASON,
        error_messages={"required": _("请写明删除的原因")},
    )


class WalkInForm(ServiceErrorsMixin, forms.Form):
    """A walk-in picked from the name search (radio `member`), hours optional (default the slot's)."""

    member = forms.IntegerField(error_messages={"required": _("请先按姓名找到并选中到场的党员")})
    hours = forms.DecimalField(
        label=_("时长（小时，不填为整个时段）"),
        required=False,
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0.01"),
        widget=forms.NumberInput(attrs={"step": "0.25", "inputmode": "decimal"}),
        error_messages={"invalid": _("请填写数字，例如 1.5")},
    )


@dataclass(frozen=True)
class RollLine:
    """One person on the roll-call list: signed up (confirmed or waitlisted) or a recorded walk-in."""

    member: object
    record: object | None
    kind: str  # confirmed, waitlisted, walk_in
    present: object  # the bound checkbox
    hours: object  # the bound hours box


class RollCallForm(ServiceErrorsMixin, forms.Form):
    """One checkbox and one hours box per person on the list (fields present_<member id>,
    hours_<member id>): the confirmed, then the waitlisted, then walk-ins already recorded."""

    service_field_aliases = {"present": None, "absent": None}

    def __init__(self, *args, enrolments=(), default_hours: Decimal, recorded: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        recorded = recorded or {}
        people = [(e.member, e.status) for e in enrolments]
        listed = {m.pk for m, _s in people}
        people += [(r.member, "walk_in") for r in recorded.values() if r.member_id not in listed]
        self.rows = []
        for member, kind in people:
            record = recorded.get(member.pk)
            self.fields[f"present_{member.pk}"] = forms.BooleanField(
                required=False, initial=record is not None, label=member.name
            )
            self.fields[f"hours_{member.pk}"] = forms.DecimalField(
                required=False,
                max_digits=5,
                decimal_places=2,
                min_value=Decimal("0.01"),
                max_value=default_hours,
                initial=record.hours if record is not None and record.hours is not None else default_hours,
                label=_("时长"),
                widget=forms.NumberInput(attrs={"step": "0.25", "inputmode": "decimal"}),
                error_messages={"max_value": _("不能超过本时段的 %(limit_value)s 小时")},
            )
            self.rows.append((member, record, kind))

    def lines(self) -> list[RollLine]:
        return [RollLine(m, r, k, self[f"present_{m.pk}"], self[f"hours_{m.pk}"]) for m, r, k in self.rows]

    def add_service_error(self, exc) -> None:
        for name, messages in exc.fields.items():
            if name.startswith("hours."):
                field = "hours_" + name.split(".", 1)[1]
                if field in self.fields:
                    for message in messages:
                        self.add_error(field, message)
                    return
        super().add_service_error(exc)

    def present(self) -> list[int]:
        return [m.pk for m, _r, _k in self.rows if self.cleaned_data.get(f"present_{m.pk}")]

    def absent(self) -> list[int]:
        """Those unticked who have a roll-call record: it goes (scanned records are left alone)."""
        return [
            m.pk
            for m, r, _k in self.rows
            if r is not None
            and r.method == AttendanceMethod.ROLL_CALL
            and not self.cleaned_data.get(f"present_{m.pk}")
        ]

    def hours(self) -> dict[int, Decimal]:
        chosen = {}
        for m, _r, _k in self.rows:
            if (
                self.cleaned_data.get(f"present_{m.pk}")
                and self.cleaned_data.get(f"hours_{m.pk}") is not None
            ):
                chosen[m.pk] = self.cleaned_data[f"hours_{m.pk}"]
        return chosen
