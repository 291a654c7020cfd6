"""Forms of the care screens: they parse the request; the services validate and decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from huijia.care.models import VulnerableKind

CADENCES = [(7, _("每周")), (14, _("每两周")), (30, _("每月")), (60, _("每两个月")), (90, _("每季度"))]


class AreaForm(forms.Form):
    area = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(self, *args, areas=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = [("", "")] + [(a.pk, a.name) for a in areas]


class VulnerableForm(forms.Form):
    household = forms.IntegerField(label=_("住户"), error_messages={"required": _("请选择住户")})
    kind = forms.ChoiceField(label=_("困难类别"), choices=VulnerableKind.choices)
    name = forms.CharField(label=_("称呼（可不填）"), required=False, max_length=128)
    note = forms.CharField(label=_("情况（可不填）"), required=False, max_length=400)


class PairingForm(forms.Form):
    members = forms.TypedMultipleChoiceField(
        label=_("结对党员"), coerce=int, error_messages={"required": _("请至少选择一名结对党员")}
    )
    cadence_days = forms.TypedChoiceField(label=_("走访周期"), coerce=int, choices=CADENCES, initial=30)
    started_on = forms.DateField(
        label=_("开始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    note = forms.CharField(
        label=_("帮扶内容（可不填）"),
        required=False,
        max_length=400,
        widget=forms.TextInput(attrs={"placeholder": _("例如：代办高龄补贴、定期量血压")}),
    )

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].choices = [(m.pk, m.name) for m in members]


class LedgerForm(forms.Form):
    estate = forms.TypedChoiceField(label=_("小区"), coerce=int)
    month = forms.RegexField(
        label=_("月份"),
        regex=r"^\d{4}-(0[1-9]|1[0-2])$",
        widget=forms.DateInput(attrs={"type": "month"}),
        error_messages={"invalid": _("请选择月份"), "required": _("请选择月份")},
    )

    def __init__(self, *args, estates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["estate"].choices = [(e.pk, e.name) for e in estates]
