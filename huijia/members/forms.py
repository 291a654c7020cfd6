"""Forms of the registration screens: they parse what the user typed; the services judge it.

Validation that belongs to the domain (ID checksum, mobile format, a household inside the community)
lives in huijia.members.services; a ServiceError is put back on the form with `add_service_error`.
"""

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from huijia.core.forms import ServiceErrorsMixin
from huijia.members import selectors
from huijia.members.models import FreeTime, RegistrationStatus
from huijia.members.services import Identity, RegistrationInput
from huijia.orgs.models import WorkUnit

IDENTITY_FIELDS = ("name", "phone", "id_number")
# Service error field names that are not form field names.
SERVICE_FIELD_ALIASES = {"household_id": None, "community_id": None, "work_unit_id": "work_unit"}
UNIT_MATCHES = 50


def work_units(query: str = "") -> QuerySet[WorkUnit]:
    """Work units to choose from: all of them, or those whose name contains `query`."""
    qs = WorkUnit.objects.only("id", "name").order_by("name")
    query = query.strip()
    return qs.filter(name__contains=query)[:UNIT_MATCHES] if query else qs


class RegistrationForm(ServiceErrorsMixin, forms.Form):
    """What a member fills in to report in. First-timers also say who they are."""

    service_field_aliases = SERVICE_FIELD_ALIASES

    name = forms.CharField(
        label=_("姓名"),
        max_length=64,
        error_messages={"required": _("请填写姓名")},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    phone = forms.CharField(
        label=_("手机号"),
        max_length=20,
        error_messages={"required": _("请填写手机号")},
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel", "type": "tel"}),
    )
    id_number = forms.CharField(
        label=_("身份证号"),
        max_length=20,
        help_text=_("18位，最后一位可能是X。只用于核实身份，不会公开。"),
        error_messages={"required": _("请填写身份证号")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    work_unit = forms.ModelChoiceField(
        label=_("从列表中选择您的单位"),
        queryset=work_units(),
        required=False,
        empty_label=_("请选择（找不到可以先不选）"),
        error_messages={"invalid_choice": _("所选工作单位不存在，请重新选择")},
    )
    skills = forms.ModelMultipleChoiceField(
        label=_("我的专长（可多选）"),
        queryset=selectors.skills(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("所选专长不存在，请重新选择")},
    )
    free_time = forms.MultipleChoiceField(
        label=_("我有空的时间（可多选）"),
        choices=FreeTime.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("空闲时间选项不正确，请重新选择")},
    )
    resources = forms.CharField(
        label=_("我能提供的资源（可不填）"),
        max_length=200,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("例如：可以提供车辆、活动场地、义诊")}),
        error_messages={"max_length": _("可提供的资源不超过200个字")},
    )

    def __init__(self, *args, first_time: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.first_time = first_time
        if not first_time:
            for name in IDENTITY_FIELDS:
                del self.fields[name]

    def to_input(self, *, community_id: int, household_id: int) -> RegistrationInput:
        data = self.cleaned_data
        identity = None
        if self.first_time:
            identity = Identity(name=data["name"], phone=data["phone"], id_number=data["id_number"])
        return RegistrationInput(
            community_id=community_id,
            household_id=household_id,
            work_unit_id=data["work_unit"].pk if data["work_unit"] else None,
            skill_ids=[skill.pk for skill in data["skills"]],
            free_time=list(data["free_time"]),
            resources=data["resources"],
            identity=identity,
        )


class QueueFilterForm(forms.Form):
    """The console's choice of community and status for the registration queue."""

    ALL = "all"

    community = forms.TypedChoiceField(label=_("社区"), coerce=int, required=False, empty_value=None)
    status = forms.ChoiceField(label=_("状态"), required=False)

    def __init__(self, *args, communities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["community"].choices = [("", _("我负责的全部")), *((c.pk, c.name) for c in communities)]
        self.fields["status"].choices = [*RegistrationStatus.choices, (self.ALL, _("全部状态"))]


class RosterFilterForm(forms.Form):
    community = forms.TypedChoiceField(label=_("社区"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, communities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["community"].choices = [("", _("我负责的全部")), *((c.pk, c.name) for c in communities)]


class RejectForm(forms.Form):
    """The reason is checked by the service (required, at most 200 characters)."""

    reason = forms.CharField(label=_("退回原因"), required=False)
