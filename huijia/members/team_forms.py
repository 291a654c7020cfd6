"""Forms of the team screens: they parse what staff typed or picked; the team services judge it."""

from django import forms
from django.utils.translation import gettext_lazy as _

from huijia.members.team_services import MAX_TEAM_SIZE, MIN_TEAM_SIZE, NEW_TEAM


class ProposeForm(forms.Form):
    community = forms.IntegerField()
    estate = forms.IntegerField(required=False)
    team_size = forms.IntegerField(
        label=_("每组人数"),
        initial=3,
        min_value=MIN_TEAM_SIZE,
        max_value=MAX_TEAM_SIZE,
        error_messages={
            "required": _("请填写每组人数"),
            "invalid": _("每组人数请填整数"),
            "min_value": _("每组人数至少%(limit_value)s人"),
            "max_value": _("每组人数不超过%(limit_value)s人"),
        },
    )


class TeamKeyField(forms.CharField):
    """A team key of the plan, or "new" for a new team."""

    def to_python(self, value):
        value = super().to_python(value).strip()
        if value == NEW_TEAM:
            return value
        try:
            return int(value)
        except ValueError:
            raise forms.ValidationError(_("请选择小组")) from None


class IdListField(forms.Field):
    """Several ids under one name (checkboxes); which ones are allowed is the service's business."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        try:
            return [int(v) for v in value or []]
        except (TypeError, ValueError):
            raise forms.ValidationError(_("所选住户不正确，请刷新后重试")) from None


class ChangeForm(forms.Form):
    """One adjustment of a plan, from the plan screen."""

    version = forms.IntegerField(error_messages={"required": _("页面已过期，请刷新后重试")})
    kind = forms.ChoiceField(
        choices=[
            ("move_member", "move_member"),
            ("move_households", "move_households"),
            ("set_leader", "set_leader"),
        ]
    )
    to_team = TeamKeyField(error_messages={"required": _("请选择小组")})
    member = forms.IntegerField(required=False)
    households = IdListField(required=False)
    building = forms.IntegerField(required=False)  # where to come back to


class CommitForm(forms.Form):
    version = forms.IntegerField(error_messages={"required": _("页面已过期，请刷新后重试")})


class AppointForm(forms.Form):
    role = forms.ChoiceField(choices=[("building", "building"), ("estate", "estate")])
    area = forms.IntegerField()
    member = forms.IntegerField(error_messages={"required": _("请选择党员")})


def first_error(form: forms.Form) -> str:
    """The first problem of a form, in plain words, for a message at the top of the page."""
    for errors in form.errors.values():
        return str(errors[0])
    return str(_("提交的内容不完整"))
