"""Forms of the service-team screens: they parse the request; huijia.volunteering.teams validates
(name, lengths, areas, who may join) and decides, and its refusals are shown on the form."""

from django import forms
from django.utils.translation import gettext_lazy as _

from huijia.core.forms import ServiceErrorsMixin
from huijia.volunteering.teams import MAX_DESCRIPTION, MAX_NAME, TeamInput, split_areas


class TeamForm(ServiceErrorsMixin, forms.Form):
    """A team's name, description and service areas (typed one per line, or separated by 、)."""

    name = forms.CharField(
        label=_("服务队名称"),
        max_length=MAX_NAME,
        required=False,  # the service says "请填写服务队名称" in the same words as the API
        widget=forms.TextInput(attrs={"placeholder": _("例如：教师志愿服务队")}),
    )
    description = forms.CharField(
        label=_("简介（可不填）"),
        max_length=MAX_DESCRIPTION,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": _("简介不超过%(limit_value)d个字")},
    )
    service_areas = forms.CharField(
        label=_("服务领域"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("例如：课业辅导、心理疏导、法律咨询")}),
        help_text=_("每行一项，或用顿号隔开；每项不超过16个字，最多12项"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].error_messages["max_length"] = _("名称不超过%(limit_value)d个字")

    def team_input(self) -> TeamInput:
        cd = self.cleaned_data
        return TeamInput(
            name=cd["name"], description=cd["description"], service_areas=split_areas(cd["service_areas"])
        )

    @staticmethod
    def initial_of(team) -> dict:
        return {
            "name": team.name,
            "description": team.description,
            "service_areas": "、".join(team.service_areas),
        }


class AddMemberForm(ServiceErrorsMixin, forms.Form):
    member = forms.IntegerField(error_messages={"required": _("请选择党员"), "invalid": _("请选择党员")})
    is_leader = forms.BooleanField(required=False)
