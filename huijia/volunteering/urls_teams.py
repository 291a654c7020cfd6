"""Screens of volunteering: service teams (see huijia/volunteering/urls.py)."""

from django.urls import path

from huijia.volunteering import views_teams as views

urlpatterns = [
    path("console/volunteer/teams/", views.teams, name="teams"),
    path("console/volunteer/teams/new/", views.team_new, name="team_new"),
    path("console/volunteer/teams/<int:pk>/", views.team, name="team"),
    path("console/volunteer/teams/<int:pk>/edit/", views.team_edit, name="team_edit"),
    path("console/volunteer/teams/<int:pk>/picks/", views.member_picks, name="team_member_picks"),
    path("console/volunteer/teams/<int:pk>/members/", views.member_add, name="team_member_add"),
    path(
        "console/volunteer/teams/<int:pk>/members/<int:member_id>/remove/",
        views.member_remove,
        name="team_member_remove",
    ),
    path(
        "console/volunteer/teams/<int:pk>/members/<int:member_id>/leader/",
        views.member_leader,
        name="team_leader",
    ),
    path("console/volunteer/teams/<int:pk>/dissolve/", views.team_dissolve, name="team_dissolve"),
    path("m/volunteer/teams/", views.my_teams, name="my_teams"),
    path("m/volunteer/teams/<int:pk>/", views.my_team, name="my_team"),
]
