"""Phone screens under /m/, the public card check under /v/, the staff console under /console/."""

from django.urls import path

from huijia.members import views
from huijia.members.team_urls import urlpatterns as team_urlpatterns

app_name = "members"
urlpatterns = [
    # member (phone)
    path("m/", views.member_home, name="home"),
    path("m/card/", views.member_card, name="card"),
    path("m/register/", views.register_search, name="register"),
    path("m/register/c/<int:community_id>/", views.register_community, name="register_community"),
    path(
        "m/register/c/<int:community_id>/h/<int:household_id>/",
        views.register_form,
        name="register_form",
    ),
    path("m/register/units/", views.work_unit_options, name="work_unit_options"),
    path("m/registrations/<int:registration_id>/withdraw/", views.withdraw, name="withdraw"),
    # public
    path("v/<str:token>/", views.verify, name="verify"),
    # staff console
    path("console/registrations/", views.queue, name="queue"),
    path("console/registrations/<int:registration_id>/approve/", views.approve, name="approve"),
    path("console/registrations/<int:registration_id>/reject/", views.reject, name="reject"),
    path("console/members/", views.roster, name="roster"),
    path("console/members/<int:member_id>/reveal/<str:field>/", views.reveal, name="reveal"),
    path("console/communities/<int:community_id>/qr/", views.community_qr, name="community_qr"),
]
urlpatterns += team_urlpatterns  # teams and zones (包干到户): huijia/members/team_urls.py
