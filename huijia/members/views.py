"""Member phone screens and the staff console for registrations (being built)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def member_home(request):
    return HttpResponse("member home")


@login_required
def member_card(request):
    return HttpResponse("member card")


@login_required
def queue(request):
    return HttpResponse("queue")


@login_required
def roster(request):
    return HttpResponse("roster")
