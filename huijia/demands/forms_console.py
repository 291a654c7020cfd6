"""Forms of the demand screens (staff console and the member's phone): they parse what was typed.

The services judge it (huijia.demands.services): a ServiceError is put back on the form with
`add_service_error`, per field where the service names one of ours, else above the form. Every form
of a step on a demand carries the `version` the page was drawn from: the service answers a stale one
with a Conflict, and nothing changes.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from huijia.core.forms import ServiceErrorsMixin as CoreServiceErrors
from huijia.core.personal import validate_contact_phone
from huijia.demands.models import (
    AssigneeKind,
    DemandSource,
    DemandStatus,
    EscalationTarget,
    Rating,
)

# service error field names that are not form field names
SERVICE_FIELD_ALIASES = {
    "category": "category",
    "area_id": "estate",
    "household_id": "household",
    "target_id": "target_id",
    "work_unit_id": "work_unit",
    "demand_ids": "demand_ids",
}
DESCRIPTION_LIMIT = 2000  # services.MAX_DESCRIPTION: the browser stops typing there too
TEXT_AREA = {"rows": 3}


class ServiceErrorsMixin(CoreServiceErrors):
    service_field_aliases = SERVICE_FIELD_ALIASES


def _choice(label, **kwargs) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(label=label, coerce=int, required=False, empty_value=None, **kwargs)


# --- the console list --------------------------------------------------------------------------------


class DemandFilterForm(forms.Form):
    """The console list's filters: community, status, category, estate, overdue only."""

    community = _choice(_("社区"))
    status = forms.ChoiceField(label=_("状态"), required=False, choices=[("", ""), *DemandStatus.choices])
    category = forms.ChoiceField(label=_("类别"), required=False)
    estate = _choice(_("小区"))
    overdue = forms.BooleanField(label=_("只看超时"), required=False)

    def __init__(self, *args, communities=(), categories=(), estates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["community"].choices = [("", "")] + [(c.pk, c.name) for c in communities]
        self.fields["category"].choices = [("", "")] + [(c.code, c.name) for c in categories]
        self.fields["estate"].choices = [("", "")] + [(e.pk, e.name) for e in estates]


class CommunityFilterForm(forms.Form):
    community = _choice(_("社区"))

    def __init__(self, *args, communities=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["community"].choices = [("", "")] + [(c.pk, c.name) for c in communities]


# --- steps on one demand ---------------------------------------------------------------------------------


class StepForm(ServiceErrorsMixin, forms.Form):
    version = forms.IntegerField(
        widget=forms.HiddenInput,
        error_messages={"required": _("页面已过期，请刷新后重试"), "invalid": _("页面已过期，请刷新后重试")},
    )


def _categories_field(label, *, required: bool) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, required=required, error_messages={"required": _("请选择诉求类别")})


class CategoryChoicesMixin:
    def set_categories(self, categories, empty_label: str = "") -> None:
        field = self.fields["category"]
        field.choices = ([("", empty_label)] if not field.required or empty_label else []) + [
            (c.code, f"{c.group} · {c.name}" if c.group else c.name) for c in categories
        ]


class AcceptForm(CategoryChoicesMixin, StepForm):
    category = _categories_field(_("类别（需要时可调整）"), required=False)
    note = forms.CharField(label=_("备注（可不填）"), required=False, max_length=200)

    def __init__(self, *args, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.set_categories(categories, str(_("不调整")))


class DeclineForm(StepForm):
    reason = forms.CharField(
        label=_("不予受理的原因"),
        max_length=200,
        widget=forms.Textarea(
            attrs={
                **TEXT_AREA,
                "placeholder": _("居民会看到，例如：属于业主家中私人设施，请联系物业有偿维修"),
            }
        ),
        error_messages={"required": _("请写明不予受理的原因"), "max_length": _("原因不超过200个字")},
    )


class AssignForm(StepForm):
    kind = forms.ChoiceField(
        choices=AssigneeKind.choices,
        error_messages={"required": _("请选择承办方"), "invalid_choice": _("请选择承办方")},
    )
    target_id = forms.IntegerField(
        label=_("承办方"), required=False, error_messages={"invalid": _("请选择承办方")}
    )
    reassign = forms.BooleanField(required=False)
    note = forms.CharField(label=_("交办说明（可不填）"), required=False, max_length=200)

    def clean_target_id(self):
        value = self.cleaned_data.get("target_id")
        if value is None:
            raise ValidationError(_("请选择承办方"))
        return value


class RecategoriseForm(CategoryChoicesMixin, StepForm):
    category = _categories_field(_("新的类别"), required=True)

    def __init__(self, *args, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.set_categories(categories)


class MergeForm(StepForm):
    demand_ids = forms.TypedMultipleChoiceField(
        label=_("勾选同一问题的诉求"),
        coerce=int,
        error_messages={
            "required": _("请勾选要合并的重复诉求"),
            "invalid_choice": _("所选诉求已不能合并，请刷新后重试"),
        },
    )

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["demand_ids"].choices = [(d.pk, d.tracking_code) for d in candidates]


class EscalateForm(StepForm):
    target = forms.ChoiceField(
        label=_("向谁吹哨"),
        choices=EscalationTarget.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择吹哨对象：结对单位或街道")},
    )
    work_unit = forms.IntegerField(
        label=_("接哨单位"), required=False, error_messages={"invalid": _("请选择接哨的单位")}
    )
    reason = forms.CharField(
        label=_("吹哨原因"),
        max_length=500,
        widget=forms.Textarea(
            attrs={**TEXT_AREA, "placeholder": _("写明社区为什么解决不了、需要对方做什么")}
        ),
        error_messages={"required": _("请说明为什么需要吹哨"), "max_length": _("原因不超过500个字")},
    )

    def clean(self):
        data = super().clean()
        if data.get("target") == EscalationTarget.WORK_UNIT and not data.get("work_unit"):
            self.add_error("work_unit", _("请选择接哨的单位"))
        return data


class ResolveForm(StepForm):
    resolution = forms.CharField(
        label=_("办理结果"),
        max_length=2000,
        widget=forms.Textarea(attrs={**TEXT_AREA, "placeholder": _("做了什么、解决了没有，居民会看到")}),
        error_messages={
            "required": _("请写明办理结果：做了什么、解决了没有"),
            "max_length": _("办理结果不超过2000个字"),
        },
    )


class NoteForm(StepForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)  # a note never conflicts
    text = forms.CharField(
        label=_("备注"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("例如：已电话联系居民，约好周六上门")}),
        error_messages={"required": _("请填写备注内容"), "max_length": _("备注不超过500个字")},
    )


class RateForm(StepForm):
    rating = forms.ChoiceField(
        label=_("居民的评价"),
        choices=Rating.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择满意、基本满意或不满意")},
    )
    comment = forms.CharField(
        label=_("居民的意见（不满意时必填）"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"max_length": _("评价意见不超过500个字")},
    )


STEP_FORMS: dict[str, type[StepForm]] = {
    "accept": AcceptForm,
    "decline": DeclineForm,
    "assign": AssignForm,
    "recategorise": RecategoriseForm,
    "merge": MergeForm,
    "escalate": EscalateForm,
    "resolve": ResolveForm,
    "note": NoteForm,
    "rate": RateForm,
    "start": StepForm,
}


# --- staff entry (代录) and the member's opinion-collection post ---------------------------------------


class PlaceForm(ServiceErrorsMixin, forms.Form):
    """Where the demand is: an estate, a building, optionally a household (offered from the scope)."""

    estate = _choice(_("小区"), error_messages={"invalid_choice": _("所选小区不在您负责的范围")})
    building = _choice(_("楼栋（可不选）"), error_messages={"invalid_choice": _("所选楼栋不在这个小区")})
    household = _choice(_("住户（可不选）"), error_messages={"invalid_choice": _("所选住户不在这栋楼")})
    description = forms.CharField(
        label=_("居民反映的问题"),
        max_length=DESCRIPTION_LIMIT,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": DESCRIPTION_LIMIT}),
        error_messages={
            "required": _("请填写诉求内容"),
            "max_length": _("诉求内容不超过2000个字，请精简后再提交"),
        },
    )
    category = forms.ChoiceField(label=_("类别"), required=False)
    reporter_name = forms.CharField(
        label=_("居民称呼（可不填）"),
        required=False,
        max_length=40,
        error_messages={"max_length": _("联系人姓名不超过40个字")},
    )
    reporter_phone = forms.CharField(
        label=_("联系电话（可不填）"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "type": "tel", "autocomplete": "off"}),
    )

    def __init__(self, *args, estates=(), buildings=(), households=(), categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["estate"].choices = [("", _("请选择小区"))] + [(e.pk, e.name) for e in estates]
        self.fields["building"].choices = [("", _("整个小区"))] + [(b.pk, b.name) for b in buildings]
        self.fields["household"].choices = [("", _("不具体到户"))] + [(h.pk, h.label) for h in households]
        self.fields["category"].choices = [("", _("自动判断（按内容）"))] + [
            (c.code, f"{c.group} · {c.name}" if c.group else c.name) for c in categories
        ]

    def clean_reporter_phone(self) -> str:
        try:
            return validate_contact_phone(self.cleaned_data.get("reporter_phone", ""))
        except ValidationError as exc:
            raise ValidationError(exc.messages[0]) from None


STAFF_SOURCES = [
    (DemandSource.STAFF, _("居民来电或来访（代录）")),
    (DemandSource.PATROL, _("巡查发现")),
    (DemandSource.MEETING, _("议事会提出")),
]


class StaffEntryForm(PlaceForm):
    community = _choice(_("社区"), error_messages={"invalid_choice": _("所选社区不在您负责的范围")})
    source = forms.ChoiceField(label=_("来源"), choices=STAFF_SOURCES, initial=DemandSource.STAFF)

    field_order = ("community", "estate", "building", "household", "source", "description", "category")

    def __init__(self, *args, communities=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["community"].choices = [("", _("请选择社区"))] + [(c.pk, c.name) for c in communities]


class PostForm(PlaceForm):
    """The opinion-collection post (社情民意收集岗): a member takes down a resident's demand."""


# --- the receiving side, complaints -----------------------------------------------------------------------


class EscalationAnswerForm(ServiceErrorsMixin, forms.Form):
    decision = forms.ChoiceField(
        choices=[("accept", _("接哨")), ("decline", _("退回"))],
        error_messages={"required": _("请选择接哨或退回"), "invalid_choice": _("请选择接哨或退回")},
    )
    answer = forms.CharField(
        label=_("答复"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"max_length": _("答复不超过500个字")},
    )


class EscalationReportForm(ServiceErrorsMixin, forms.Form):
    answer = forms.CharField(
        label=_("办理结果"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("请写明办理结果"), "max_length": _("办理结果不超过2000个字")},
    )


class FeedbackAnswerForm(ServiceErrorsMixin, forms.Form):
    answer = forms.CharField(
        label=_("答复"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("请填写答复内容"), "max_length": _("答复不超过2000个字")},
    )
