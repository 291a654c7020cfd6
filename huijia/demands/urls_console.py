"""URLs of huijia.demands.views_console (see huijia/demands/urls.py)."""

from django.urls import path

from huijia.demands import views_console

urlpatterns = [
    path("console/demands/", views_console.demand_list, name="console_list"),
    path("console/demands/new/", views_console.new, name="console_new"),
    path("console/demands/late/", views_console.late, name="console_late"),
    path("console/demands/units/", views_console.unit_options, name="console_unit_options"),
    path("console/demands/escalations/", views_console.escalations, name="escalations"),
    path(
        "console/demands/escalations/<int:escalation_id>/answer/",
        views_console.escalation_answer,
        name="escalation_answer",
    ),
    path(
        "console/demands/escalations/<int:escalation_id>/report/",
        views_console.escalation_report,
        name="escalation_report",
    ),
    path("console/demands/<int:demand_id>/", views_console.detail, name="console_detail"),
    path("console/demands/<int:demand_id>/do/<slug:step>/", views_console.act, name="console_act"),
    path("demands/<int:demand_id>/phone/", views_console.reveal_phone, name="reveal_phone"),
    path("console/demands/<int:demand_id>/members/", views_console.member_picks, name="console_member_picks"),
    path("console/demands/<int:demand_id>/photos/<int:photo_id>/", views_console.photo, name="demand_photo"),
    path("console/feedback/", views_console.feedback_list, name="console_feedback"),
    path("console/feedback/<int:feedback_id>/answer/", views_console.feedback_answer, name="feedback_answer"),
]
