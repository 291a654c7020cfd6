"""Forms of the campaign screens: they parse the request; the services validate and decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from huijia.care.models import VulnerableKind
from huijia.visits.campaign_services import Who
from huijia.visits.models import Outcome

# service field name -> form field name, to show a service's per-field message at the right place
SERVICE_FIELDS = {"area_id": "area", "community_id": "community"}


class CampaignForm(forms.Form):
    community = forms.TypedChoiceField(label=_("社区"), coerce=int)
    name = forms.CharField(
        label=_("行动名称"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("例如：60岁以上老人疫苗接种入户")}),
    )
    description = forms.CharField(
        label=_("说明（可不填）"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )
    questions = forms.CharField(
        label=_("要问的问题（每行一个，可不填）"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(
            attrs={"rows": 4, "placeholder": _("家中60岁以上老人是否已接种？\n有什么需要帮忙的？")}
        ),
    )
    area = forms.TypedChoiceField(label=_("范围"), coerce=int, required=False, empty_value=None)
    who = forms.ChoiceField(
        label=_("走访哪些住户"), choices=Who.choices, initial=Who.ALL, widget=forms.RadioSelect
    )
    min_age = forms.IntegerField(
        label=_("年龄不低于（岁）"), required=False, initial=60, min_value=1, max_value=120
    )
    vulnerable_kind = forms.ChoiceField(
        label=_("困难类别"), required=False, choices=[("", _("任何类别")), *VulnerableKind.choices]
    )
    due_on = forms.DateField(
        label=_("截止日期（可不填）"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, communities=(), areas=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["community"].choices = [(c.pk, c.name) for c in communities]
        self.fields["area"].choices = [("", _("全社区"))] + [(a.pk, label) for a, label in areas]

    @property
    def question_list(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data.get("questions", "").splitlines() if line.strip()]


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("走访结果"),
        choices=[(o.value, o.label) for o in Outcome if o != Outcome.PENDING],
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择走访结果"), "invalid_choice": _("请选择走访结果")},
    )
    note = forms.CharField(
        label=_("备注（可不填）"), required=False, max_length=400, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, questions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = list(questions)
        for index, question in enumerate(self.questions):
            self.fields[f"answer_{index}"] = forms.CharField(label=question, required=False, max_length=400)

    @property
    def answer_fields(self):
        return [self[f"answer_{i}"] for i in range(len(self.questions))]

    def answers(self) -> list[str]:
        return [self.cleaned_data.get(f"answer_{i}", "") for i in range(len(self.questions))]
