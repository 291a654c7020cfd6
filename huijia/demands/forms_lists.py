"""Forms of the three lists' screens: they parse the request; the services validate and decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from huijia.demands.models import ClaimantKind, NeedKind, NeedStatus
from huijia.members.models import FreeTime


class ResourceFilterForm(forms.Form):
    """The community picker and the resource list's filters; bad values are simply ignored."""

    community = forms.IntegerField(required=False)
    skill = forms.IntegerField(required=False)
    free_time = forms.ChoiceField(required=False, choices=[("", ""), *list(FreeTime.choices)])


class ListFilterForm(forms.Form):
    community = forms.IntegerField(required=False)
    status = forms.CharField(required=False, max_length=16)


def _category_choices(categories) -> list[tuple[str, str]]:
    return [("", _("不分类"))] + [(c.code, c.name) for c in categories]


class NeedForm(forms.Form):
    title = forms.CharField(
        label=_("需求"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("例如：3栋老人就医陪诊")}),
    )
    description = forms.CharField(
        label=_("说明（可不填）"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    category = forms.ChoiceField(label=_("类别"), required=False)
    kind = forms.ChoiceField(
        label=_("需求类型"), required=False, choices=[("", _("自动判断")), *NeedKind.choices]
    )
    place = forms.TypedChoiceField(label=_("位置"), coerce=int, required=False, empty_value=None)
    household = forms.TypedChoiceField(
        label=_("住户（个性需求）"), coerce=int, required=False, empty_value=None
    )
    demand_ids = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, categories=(), places=(), households=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = _category_choices(categories)
        self.fields["place"].choices = [("", _("请选择")), *places]  # (id, label)
        self.fields["household"].choices = [("", _("不指定")), *households]  # (id, label)

    def clean_demand_ids(self) -> list[int]:
        raw = self.cleaned_data.get("demand_ids") or ""
        parts = [p for p in raw.replace("，", ",").split(",") if p.strip()]
        if not all(p.strip().isdigit() for p in parts):
            raise forms.ValidationError(_("诉求编号不正确"))
        return [int(p) for p in parts]


class NeedStatusForm(forms.Form):
    status = forms.ChoiceField(choices=NeedStatus.choices, error_messages={"invalid_choice": _("状态不正确")})


class ServiceItemForm(forms.Form):
    title = forms.CharField(
        label=_("服务项目"),
        max_length=100,
        error_messages={"required": _("请填写服务项目名称")},
        widget=forms.TextInput(attrs={"placeholder": _("例如：周末上门疏通下水道")}),
    )
    description = forms.CharField(
        label=_("说明（可不填）"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("服务内容、时间、地点")}),
    )
    category = forms.ChoiceField(label=_("类别"), required=False)
    places = forms.IntegerField(
        label=_("可认领数"),
        min_value=1,
        max_value=200,
        initial=1,
        error_messages={
            "required": _("请填写可认领数"),
            "invalid": _("可认领数请填整数"),
            "min_value": _("可认领数至少为1"),
            "max_value": _("可认领数不超过200"),
        },
    )
    needs = forms.TypedMultipleChoiceField(label=_("对应需求"), coerce=int, required=False)

    def __init__(self, *args, categories=(), needs=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = _category_choices(categories)
        self.fields["needs"].choices = [(n.pk, n.title) for n in needs]


class ConsoleClaimForm(forms.Form):
    """A claim entered in the console: for a team (its leader or staff) or for a work unit."""

    kind = forms.ChoiceField(
        choices=[
            (ClaimantKind.TEAM, ClaimantKind.TEAM.label),
            (ClaimantKind.WORK_UNIT, ClaimantKind.WORK_UNIT.label),
        ]
    )
    team = forms.IntegerField(required=False)
    work_unit = forms.IntegerField(required=False)
    note = forms.CharField(required=False, max_length=200)


class PhoneClaimForm(forms.Form):
    """A claim from the member's phone: for themselves, or for the team they lead."""

    kind = forms.ChoiceField(
        choices=[
            (ClaimantKind.MEMBER, ClaimantKind.MEMBER.label),
            (ClaimantKind.TEAM, ClaimantKind.TEAM.label),
        ],
        required=False,
    )
    team = forms.IntegerField(required=False)
