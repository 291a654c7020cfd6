"""Forms of the pairing screens: they parse the request; the services validate and decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from huijia.core.forms import ServiceErrorsMixin
from huijia.volunteering.pairing_selectors import PairingState

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PairingFilterForm(forms.Form):
    """The list's filters; bad values are simply ignored."""

    community = forms.IntegerField(required=False)
    state = forms.ChoiceField(
        required=False, choices=[("", ""), *PairingState.LABELS.items(), ("all", "all")]
    )
    q = forms.CharField(required=False, max_length=40)


class PairingForm(ServiceErrorsMixin, forms.Form):
    service_field_aliases = {"work_unit_id": "work_unit", "community_id": "community"}

    community = forms.TypedChoiceField(
        label=_("结对社区"), coerce=int, empty_value=None, error_messages={"required": _("请选择结对的社区")}
    )
    work_unit = forms.IntegerField(
        label=_("结对单位"),
        error_messages={"required": _("请选择结对的单位"), "invalid": _("请选择结对的单位")},
    )
    starts_on = forms.DateField(
        label=_("开始日期"),
        widget=DATE,
        error_messages={"required": _("请填写开始日期"), "invalid": _("日期格式不正确")},
    )
    ends_on = forms.DateField(
        label=_("结束日期（可不填）"),
        required=False,
        widget=DATE,
        help_text=_("不填表示长期结对。"),
        error_messages={"invalid": _("日期格式不正确")},
    )
    commitments = forms.CharField(
        label=_("共建承诺（每行一条，可不填）"),
        required=False,
        max_length=2100,
        widget=forms.Textarea(
            attrs={
                "rows": 5,
                "placeholder": _("例如：\n每季度组织一次联合志愿服务\n帮助解决老旧小区路灯维修"),
            }
        ),
        error_messages={"max_length": _("共建承诺写得太长了")},
    )

    def __init__(self, *args, communities=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["community"].choices = [("", _("请选择社区")), *communities]  # (id, label)


class EndPairingForm(ServiceErrorsMixin, forms.Form):
    reason = forms.CharField(
        label=_("解除原因（可不填）"),
        required=False,
        max_length=200,
        error_messages={"max_length": _("原因不超过200个字")},
    )
