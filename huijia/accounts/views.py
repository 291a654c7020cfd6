"""Sign-in, sign-out, and the landing page that sends each user to their own screen."""

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _

from huijia.accounts.scope import actor_for


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


@login_required
def home(request):
    """Staff go to the console; members (and everyone else) to their own phone page."""
    actor = actor_for(request.user)
    return redirect("members:queue" if actor.is_staff_actor else "members:home")
