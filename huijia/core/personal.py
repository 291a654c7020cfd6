"""Validation and masking of personal data: mainland resident ID numbers and mobile numbers."""

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE_RE = re.compile(r"^(?:(010|02\d)(\d{8})|(0[3-9]\d{2})(\d{7,8}))$")


def normalise_id_number(value: str) -> str:
    return (value or "").strip().replace(" ", "").upper()


def id_check_digit(first17: str) -> str:
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def validate_id_number(value: str) -> str:
    """Returns the normalised 18-digit ID number or raises ValidationError in plain words."""
    number = normalise_id_number(value)
    if not _ID_RE.match(number):
        raise ValidationError(_("身份证号应为18位，最后一位可以是数字或X"), code="id_format")
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(_("身份证号中的出生日期不正确"), code="id_birth_date") from None
    if id_check_digit(number[:17]) != number[17]:
        raise ValidationError(_("身份证号校验位不正确，请核对后重新输入"), code="id_checksum")
    return number


def normalise_mobile(value: str) -> str:
    digits = re.sub(r"[\s-]", "", value or "")
    return digits.removeprefix("+86")


def validate_mobile(value: str) -> str:
    number = normalise_mobile(value)
    if not _MOBILE_RE.match(number):
        raise ValidationError(_("手机号应为11位，以1开头"), code="mobile_format")
    return number


def validate_contact_phone(value: str) -> str:
    """A household's contact number: a mainland mobile (13812345678) or a landline with its area code,
    kept as 0731-84567890; "" when nothing was given."""
    raw = re.sub(r"[\s\-()（）]", "", value or "").removeprefix("+86")
    if not raw:
        return ""
    if raw.startswith("1"):
        try:
            return validate_mobile(raw)
        except ValidationError:
            pass
    elif match := _LANDLINE_RE.match(raw):
        code, number = (match[1], match[2]) if match[1] else (match[3], match[4])
        return f"{code}-{number}"
    raise ValidationError(
        _("联系电话请填写11位手机号，或带区号的固定电话（如 0731-84567890）"), code="contact_format"
    )


def mask_contact(value: str) -> str:
    """138****5678 for a mobile, 0731-****7890 for a landline."""
    if not value:
        return ""
    if "-" in value:
        code, number = value.split("-", 1)
        return f"{code}-****{number[-4:]}"
    return mask_mobile(value)


def mask_mobile(value: str) -> str:
    return f"{value[:3]}****{value[-4:]}" if len(value) >= 7 else "****"


def mask_id_number(value: str) -> str:
    return f"{value[:4]}{'*' * (len(value) - 8)}{value[-4:]}" if len(value) > 8 else "****"


def mask_name(value: str) -> str:
    """张三 -> 张*, 欧阳小明 -> 欧**明: enough to recognise, not to identify."""
    if len(value) <= 1:
        return value
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]
