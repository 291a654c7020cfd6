"""Sign-in, sign-out, and the landing page that sends each user to their own screen."""

from django import forms
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from huijia.accounts.scope import actor_for
from huijia.accounts.services import account_problems, create_account
from huijia.core.errors import ServiceError


class LoginForm(AuthenticationForm):
    """Django's sign-in form with plain labels and messages."""

    error_messages = {
        "invalid_login": _("用户名或密码不对，请再试一次（注意区分大小写）。"),
        "inactive": _("这个账号已停用，请联系社区工作人员。"),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("用户名")
        self.fields["username"].error_messages["required"] = _("请填写用户名")
        self.fields["username"].widget.attrs.update(autocapitalize="none", autocomplete="username")
        self.fields["password"].label = _("密码")
        self.fields["password"].error_messages["required"] = _("请填写密码")
        self.fields["password"].widget = forms.PasswordInput(attrs={"autocomplete": "current-password"})


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    form_class = LoginForm
    redirect_authenticated_user = True


class SignupForm(forms.Form):
    username = forms.CharField(
        label=_("登录名"),
        max_length=30,
        help_text=_("英文字母、数字或下划线，3到30个字符，以后用它登录"),
        widget=forms.TextInput(attrs={"autocapitalize": "none", "autocomplete": "username"}),
    )
    display_name = forms.CharField(label=_("怎么称呼您（选填）"), max_length=64, required=False)
    password = forms.CharField(
        label=_("密码"),
        help_text=_("至少8位，不要只用数字"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("再输入一次密码"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self):
        """Every problem at once: the service's own checks, plus the repeated password."""
        data = super().clean()
        problems = account_problems(
            username=data.get("username", ""),
            password=data.get("password", ""),
            display_name=data.get("display_name", ""),
        )
        already = set(self.errors)
        for name, messages in problems.items():
            for message in messages:
                if name not in already:
                    self.add_error(name, message)
        if data.get("password") and data.get("password2") and data["password"] != data["password2"]:
            self.add_error("password2", _("两次输入的密码不一样"))
        return data


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    ok = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if ok else fallback


def signup(request):
    """Open an account, sign in, and continue to registration (or to the page the user came from)."""
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = create_account(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                display_name=form.cleaned_data["display_name"],
            )
        except ServiceError as exc:
            for name, messages in exc.fields.items():
                for message in messages:
                    form.add_error(name if name in form.fields else None, message)
        else:
            login(request, user, backend="huijia.accounts.backends.ScopeAwareBackend")
            return redirect(_safe_next(request, reverse("members:register")))
    return render(request, "accounts/signup.html", {"form": form, "next": _safe_next(request, "")})


@login_required
def home(request):
    """Staff go to the console; members (and everyone else) to their own phone page."""
    actor = actor_for(request.user)
    return redirect("members:queue" if actor.is_staff_actor else "members:home")
