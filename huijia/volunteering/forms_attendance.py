"""Forms of the attendance screens: roll call, a correction request and its decision, people served,
and the served resident's confirmation. They only parse; the services in attendance.py decide."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from huijia.core.forms import ServiceErrorsMixin
from huijia.volunteering.attendance import MAX_COMMENT, MAX_REASON


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


class RollCallForm(ServiceErrorsMixin, forms.Form):
    """One checkbox and one hours box per confirmed place (fields present_<member id>, hours_<member id>)."""

    service_field_aliases = {"present": None}

    def __init__(self, *args, enrolments=(), default_hours: Decimal, recorded: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        recorded = recorded or {}
        self.rows = []
        for enrolment in enrolments:
            member_id = enrolment.member_id
            record = recorded.get(member_id)
            self.fields[f"present_{member_id}"] = forms.BooleanField(
                required=False, initial=record is not None, label=enrolment.member.name
            )
            self.fields[f"hours_{member_id}"] = forms.DecimalField(
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
            self.rows.append((enrolment, record, f"present_{member_id}", f"hours_{member_id}"))

    def lines(self):
        """(enrolment, record or None, the checkbox, the hours box) per confirmed place."""
        return [(e, r, self[p], self[h]) for e, r, p, h in self.rows]

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
        return [e.member_id for e, _r, p, _h in self.rows if self.cleaned_data.get(p)]

    def hours(self) -> dict[int, Decimal]:
        chosen = {}
        for enrolment, _record, p, h in self.rows:
            if self.cleaned_data.get(p) and self.cleaned_data.get(h) is not None:
                chosen[enrolment.member_id] = self.cleaned_data[h]
        return chosen
