"""Screens of volunteering: attendance (see huijia/volunteering/urls.py and views_attendance.py)."""

from django.urls import path

from huijia.volunteering import views_attendance as views

urlpatterns = [
    path("console/volunteer/slots/<int:slot_id>/qr/", views.slot_qr, name="slot_qr"),
    path("console/volunteer/slots/<int:slot_id>/roll-call/", views.roll_call, name="roll_call"),
    path("console/volunteer/slots/<int:slot_id>/walk-ins/", views.walk_in_picks, name="walk_in_picks"),
    path("console/volunteer/slots/<int:slot_id>/walk-in/", views.walk_in, name="walk_in"),
    path("console/volunteer/slots/<int:slot_id>/attendance/", views.slot_attendance, name="slot_attendance"),
    path(
        "console/volunteer/slots/<int:slot_id>/records/<int:record_id>/remove/",
        views.remove_record,
        name="remove_record",
    ),
    path("console/volunteer/slots/<int:slot_id>/people-served/", views.people_served, name="people_served"),
    path("console/volunteer/corrections/", views.corrections, name="corrections"),
    path(
        "console/volunteer/corrections/<int:correction_id>/decide/",
        views.decide_correction,
        name="decide_correction",
    ),
    path("v/scan/<int:slot_id>/<str:code>/", views.scan, name="scan"),
    path("m/volunteer/records/<int:record_id>/", views.record, name="record"),
    path(
        "m/volunteer/records/<int:record_id>/correction/",
        views.request_correction,
        name="request_correction",
    ),
    path("v/confirm/<str:token>/", views.resident_confirm, name="resident_confirm"),
]
