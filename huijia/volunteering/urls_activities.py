"""Screens of volunteering: activities, service posts and tasks, sign-up (see huijia/volunteering/urls.py).

Phone (members) under /m/volunteer/, console (organisers and staff) under /console/volunteer/."""

from django.urls import path

from huijia.volunteering import views_activities as views

urlpatterns = [
    # member (phone)
    path("m/volunteer/", views.home, name="home"),
    path("m/volunteer/activities/<int:pk>/", views.activity, name="activity"),
    path("m/volunteer/slots/<int:slot_id>/signup/", views.signup, name="signup"),
    path(
        "m/volunteer/enrolments/<int:enrolment_id>/cancel/", views.cancel_enrolment, name="cancel_enrolment"
    ),
    # console
    path("console/volunteer/activities/", views.console_activities, name="console_activities"),
    path("console/volunteer/activities/new/", views.console_activity_new, name="console_activity_new"),
    path("console/volunteer/posts/new/", views.console_post_new, name="console_post_new"),
    path("console/volunteer/activities/<int:pk>/", views.console_activity, name="console_activity"),
    path(
        "console/volunteer/activities/<int:pk>/edit/",
        views.console_activity_edit,
        name="console_activity_edit",
    ),
    path(
        "console/volunteer/activities/<int:pk>/cancel/",
        views.console_activity_cancel,
        name="console_activity_cancel",
    ),
    path(
        "console/volunteer/activities/<int:pk>/close/",
        views.console_activity_close,
        name="console_activity_close",
    ),
    path(
        "console/volunteer/activities/<int:pk>/extend/", views.console_post_extend, name="console_post_extend"
    ),
    path(
        "console/volunteer/activities/<int:pk>/pairing/",
        views.console_activity_pairing,
        name="console_activity_pairing",
    ),
    path("console/volunteer/slots/<int:slot_id>/roster/", views.console_roster, name="console_roster"),
    path("console/volunteer/slots/<int:slot_id>/edit/", views.console_slot_edit, name="console_slot_edit"),
    path(
        "console/volunteer/slots/<int:slot_id>/remove/", views.console_slot_remove, name="console_slot_remove"
    ),
    path(
        "console/volunteer/enrolments/<int:enrolment_id>/remove/",
        views.console_enrolment_remove,
        name="console_enrolment_remove",
    ),
]
