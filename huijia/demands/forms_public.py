"""Forms of the resident's screens: they parse what was typed; the services judge it.

The limits and messages repeat those of huijia.demands.services (and feedback) so that a browser can
stop an over-long text before it is sent; the services check again, and a ServiceError they raise is
put back on the form with `add_service_error`.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from huijia.core.forms import ServiceErrorsMixin as CoreServiceErrors
from huijia.core.personal import validate_contact_phone
from huijia.demands.feedback import MAX_TEXT as MAX_FEEDBACK
from huijia.demands.models import FeedbackKind, Rating
from huijia.demands.services import MAX_COMMENT, MAX_DESCRIPTION, MAX_PHOTOS

PUBLIC_AREA = "public"  # the household choice for the building's shared parts (楼道、电梯、下水道…)
# service error field names that are not form field names
SERVICE_FIELD_ALIASES = {
    "household_id": "household",
    "area_id": None,
    "community_id": None,
    "contact_name": "reporter_name",
    "contact_phone": "reporter_phone",
    "text": "text",
}


class ServiceErrorsMixin(CoreServiceErrors):
    service_field_aliases = SERVICE_FIELD_ALIASES


def _phone(value: str) -> str:
    try:
        return validate_contact_phone(value)
    except ValidationError as exc:
        raise ValidationError(exc.messages[0], code="contact_format") from None


class MultiplePhotoInput(forms.FileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Up to five optional photos; the services check each is really an image."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", MultiplePhotoInput(attrs={"accept": "image/*"}))
        kwargs.setdefault(
            "error_messages",
            {
                "empty": _("照片文件是空的，请重新选择"),
                "invalid": _("只能上传照片（JPG、PNG、WebP 或 GIF 图片）"),
            },
        )
        super().__init__(required=False, **kwargs)

    def clean(self, data, initial=None):
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if len(files) > MAX_PHOTOS:
            raise ValidationError(_("最多上传5张照片"), code="too_many_photos")
        return [super(PhotosField, self).clean(f, initial) for f in files]


class ContactFields(forms.Form):
    """An optional name and phone number, shared by the report, follow and feedback forms."""

    reporter_name = forms.CharField(
        label=_("怎么称呼您（可不填）"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name", "placeholder": _("例如：陈阿姨")}),
        error_messages={"max_length": _("联系人姓名不超过40个字")},
    )
    reporter_phone = forms.CharField(
        label=_("联系电话（可不填）"),
        max_length=30,
        required=False,
        help_text=_(
            "办理的人可能需要打电话问清楚情况。电话号码加密保存，页面上只显示 138****5678 这样的形式。"
        ),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel", "type": "tel"}),
        error_messages={"max_length": _("联系电话请填写11位手机号，或带区号的固定电话（如 0731-84567890）")},
    )

    def clean_reporter_name(self) -> str:
        return self.cleaned_data["reporter_name"].strip()

    def clean_reporter_phone(self) -> str:
        return _phone(self.cleaned_data["reporter_phone"])


class ReportForm(ServiceErrorsMixin, ContactFields):
    """A resident's report from the building's QR code: where, what, which kind, who (optional)."""

    household = forms.ChoiceField(
        label=_("问题在哪里？"),
        required=False,
        error_messages={"invalid_choice": _("所选住户不在这栋楼，请重新选择")},
    )
    description = forms.CharField(
        label=_("遇到了什么问题？"),
        max_length=MAX_DESCRIPTION,
        widget=forms.Textarea(
            attrs={"rows": 5, "placeholder": _("例如：3栋1单元楼道的下水道堵了，污水冒出来，已经两天了")}
        ),
        error_messages={
            "required": _("请填写诉求内容"),
            "max_length": _("诉求内容不超过2000个字，请精简后再提交"),
        },
    )
    category = forms.ChoiceField(
        label=_("问题类别"),
        required=False,
        help_text=_("系统会根据您写的内容自动选择，不对可以改。"),
        error_messages={"invalid_choice": _("没有这个诉求类别，请从列表中选择")},
    )
    photos = PhotosField(label=_("照片（可不传）"), help_text=_("最多5张，每张不超过5MB。"))

    def __init__(self, *args, households: list, categories: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["household"].choices = [(PUBLIC_AREA, _("楼栋公共区域"))] + [
            (label, [(str(h.pk), h.label) for h in rooms]) for label, rooms in households
        ]
        self.fields["category"].choices = [("", _("不清楚，请社区判断")), *category_choices(categories)]
        # a category picked by hand is not overwritten by the next suggestion (see report.html)
        self.fields["category"].widget.attrs["onchange"] = (
            "document.getElementById('category_manual').value='1'"
        )
        self.order_fields(
            ["household", "description", "category", "photos", "reporter_name", "reporter_phone"]
        )

    def clean_description(self) -> str:
        return self.cleaned_data["description"].strip()

    def household_id(self) -> int | None:
        value = self.cleaned_data.get("household")
        return int(value) if value and value != PUBLIC_AREA else None


def category_choices(categories: list) -> list:
    """Categories grouped as the catalogue groups them (市政设施, 物业管理…), for a <select>."""
    groups: dict[str, list] = {}
    for category in categories:
        groups.setdefault(category.group or str(_("其他")), []).append((category.code, category.name))
    return list(groups.items())


class FollowForm(ServiceErrorsMixin, ContactFields):
    """What a resident who follows an already-reported problem may add: their own words and contact."""

    description = forms.CharField(
        required=False,
        max_length=MAX_DESCRIPTION,
        error_messages={"max_length": _("诉求内容不超过2000个字，请精简后再提交")},
    )


class RateForm(ServiceErrorsMixin, forms.Form):
    rating = forms.ChoiceField(
        label=_("您对办理结果满意吗？"),
        choices=Rating.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("请选择满意、基本满意或不满意"),
            "invalid_choice": _("请选择满意、基本满意或不满意"),
        },
    )
    comment = forms.CharField(
        label=_("还想说的话（可不填，不满意时请写明原因）"),
        max_length=MAX_COMMENT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": _("评价意见不超过500个字")},
    )


class ReopenForm(ServiceErrorsMixin, forms.Form):
    reason = forms.CharField(
        label=_("哪里还没有解决？"),
        max_length=MAX_COMMENT,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("例如：下水道还是堵，今天又冒水了")}),
        error_messages={"required": _("请说明哪里还没有解决"), "max_length": _("说明不超过500个字")},
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("查询码"),
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocapitalize": "characters", "autocomplete": "off", "spellcheck": "false"}
        ),
        error_messages={"required": _("请输入查询码"), "max_length": _("查询码是8位字母和数字")},
    )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split()).upper()
        if len(code) > 12:
            raise ValidationError(_("查询码是8位字母和数字"), code="too_long")
        return code


class FeedbackForm(ServiceErrorsMixin, ContactFields):
    """A complaint or a suggestion to a community (投诉建议)."""

    kind = forms.ChoiceField(
        label=_("您要"),
        choices=FeedbackKind.choices,
        initial=FeedbackKind.SUGGESTION,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择投诉或建议"), "invalid_choice": _("请选择投诉或建议")},
    )
    text = forms.CharField(
        label=_("内容"),
        max_length=MAX_FEEDBACK,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": _("请填写内容"), "max_length": _("内容不超过2000个字")},
    )
    demand_code = forms.CharField(
        label=_("和哪条诉求有关？（可不填，填写查询码）"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off"}),
        error_messages={"max_length": _("没有找到这个查询码对应的诉求")},
    )

    def clean_text(self) -> str:
        return self.cleaned_data["text"].strip()

    def clean_demand_code(self) -> str:
        return "".join(self.cleaned_data["demand_code"].split()).upper()
