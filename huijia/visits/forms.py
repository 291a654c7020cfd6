"""Forms of the visit screens: they parse what the visitor typed; the services judge it.

Everything but the date is optional. Date rules, the contact number, the ranges and the photos are
checked by huijia.visits.services, whose errors are put back on the form with `add_service_error`.
"""

import uuid

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huijia.care.models import VulnerableKind
from huijia.core.forms import ServiceErrorsMixin
from huijia.grid.models import Tenure
from huijia.visits.services import VisitInput, VulnerableInput

DATE = forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})


class VisitForm(ServiceErrorsMixin, forms.Form):
    """The visit form on a phone: big inputs, only the date prefilled."""

    visited_on = forms.DateField(
        label=_("走访日期"),
        widget=DATE,
        error_messages={"required": _("请填写走访日期"), "invalid": _("日期格式不正确")},
    )
    tenure = forms.ChoiceField(
        label=_("住房性质"),
        choices=[("", _("不清楚")), *Tenure.choices],
        required=False,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("住房性质请从列表中选择")},
    )
    occupants = forms.IntegerField(
        label=_("常住人数"),
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0, "max": 50}),
        error_messages={"invalid": _("请填写数字")},
    )
    moved_in_on = forms.DateField(
        label=_("入住日期"), required=False, widget=DATE, error_messages={"invalid": _("日期格式不正确")}
    )
    contact_phone = forms.CharField(
        label=_("联系电话"),
        required=False,
        max_length=30,
        help_text=_("手机号或带区号的固定电话，会加密保存"),
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"}),
    )
    demands = forms.CharField(
        label=_("居民的诉求和意见"),
        required=False,
        help_text=_("每行写一件事，每件事都会转给小区党支部"),
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    vulnerable = forms.MultipleChoiceField(
        label=_("家里有需要关心的人吗？"),
        choices=VulnerableKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("类别不正确，请重新选择")},
    )
    help_given = forms.CharField(
        label=_("帮居民办了什么事"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("例如：帮老人办理养老金资格认证")}),
    )
    notes = forms.CharField(label=_("其他备注"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "initial", {"visited_on": timezone.localdate(), "idempotency_key": uuid.uuid4().hex}
        )
        super().__init__(*args, **kwargs)
        for kind in VulnerableKind.values:
            self.fields[f"note_{kind}"] = forms.CharField(
                label=_("情况（可不填）"),
                required=False,
                max_length=200,
                widget=forms.TextInput(attrs={"placeholder": _("简单说明，可不填")}),
                error_messages={"max_length": _("情况说明不超过200个字")},
            )

    def vulnerable_rows(self):
        """(checkbox, note field) per kind, for the template."""
        notes = {kind: self[f"note_{kind}"] for kind in VulnerableKind.values}
        return [(box, notes[box.data["value"]]) for box in self["vulnerable"]]

    def to_input(self, *, household_id: int, photos=()) -> VisitInput:
        data = self.cleaned_data
        return VisitInput(
            household_id=household_id,
            visited_on=data["visited_on"],
            tenure=data["tenure"],
            occupants=data["occupants"],
            moved_in_on=data["moved_in_on"],
            contact_phone=data["contact_phone"],
            demands=tuple(line for line in data["demands"].splitlines() if line.strip()),
            vulnerable=tuple(VulnerableInput(k, data.get(f"note_{k}", "")) for k in data["vulnerable"]),
            help_given=data["help_given"],
            notes=data["notes"],
            photos=tuple(photos),
        )


class MonthFilterForm(forms.Form):
    """The console's choice of month and estate for the visit list."""

    month = forms.ChoiceField(label=_("月份"), required=False)
    estate = forms.TypedChoiceField(label=_("小区"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, months, estates, **kwargs):
        super().__init__(*args, **kwargs)
        labels = ((m, _("{y}年{m}月").format(y=m[:4], m=int(m[5:]))) for m in months)
        self.fields["month"].choices = [("", _("全部月份")), *labels]
        self.fields["estate"].choices = [("", _("我负责的全部")), *((e.pk, e.name) for e in estates)]
