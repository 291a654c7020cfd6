"""Errors raised by services, shared by the HTML screens and the JSON API.

Every error carries a stable machine code and a message in plain Chinese words for the user.
"""

from django.utils.translation import gettext_lazy as _


class ServiceError(Exception):
    status = 400
    code = "invalid"
    default_message = _("请求无法完成")

    def __init__(self, message: str | None = None, *, code: str | None = None, fields: dict | None = None):
        self.message = str(message or self.default_message)
        if code:
            self.code = code
        self.fields = fields or {}
        super().__init__(self.message)


class InvalidInput(ServiceError):
    status = 400
    code = "invalid"


class NotFound(ServiceError):
    """Missing and forbidden look the same to the caller: nothing leaks about out-of-scope rows."""

    status = 404
    code = "not_found"
    default_message = _("没有找到该记录，或您无权查看")


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"
    default_message = _("您没有执行此操作的权限")


class Conflict(ServiceError):
    status = 409
    code = "conflict"
    default_message = _("该记录的状态已经改变，请刷新后重试")


def from_validation_error(exc) -> InvalidInput:
    """Turns a Django ValidationError into an InvalidInput with per-field messages."""
    if hasattr(exc, "error_dict"):
        fields = {name: [str(m) for e in errs for m in e.messages] for name, errs in exc.error_dict.items()}
        first = next(iter(fields.values()))[0]
        return InvalidInput(first, fields=fields)
    return InvalidInput("；".join(str(m) for m in exc.messages))
