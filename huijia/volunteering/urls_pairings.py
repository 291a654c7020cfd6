"""Screens of volunteering: unit–community pairings (结对共建), coverage, and a work unit's view of its
members' community service (see huijia/volunteering/urls.py)."""

from django.urls import path

from huijia.volunteering import views_pairings as views

urlpatterns = [
    path("console/volunteer/pairings/", views.pairings, name="pairings"),
    path("console/volunteer/pairings/new/", views.pairing_new, name="pairing_new"),
    path("console/volunteer/pairings/units/", views.pairing_unit_options, name="pairing_unit_options"),
    path("console/volunteer/pairings/<int:pairing_id>/", views.pairing, name="pairing"),
    path("console/volunteer/pairings/<int:pairing_id>/end/", views.pairing_end, name="pairing_end"),
    path("console/volunteer/coverage/", views.coverage, name="coverage"),
    path("console/volunteer/unit/", views.unit_service, name="unit_service"),
]
