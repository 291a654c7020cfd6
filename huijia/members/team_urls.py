"""URLs of the team screens (包干到户), in the members namespace (included by members/urls.py)."""

from django.urls import path

from huijia.members import team_views as views

urlpatterns = [
    path("m/team/", views.my_team, name="my_team"),
    path("console/teams/", views.teams, name="teams"),
    path("console/teams/propose/", views.propose, name="team_propose"),
    path("console/teams/plans/<int:plan_id>/", views.plan, name="team_plan"),
    path("console/teams/plans/<int:plan_id>/change/", views.change, name="team_plan_change"),
    path("console/teams/plans/<int:plan_id>/commit/", views.commit, name="team_plan_commit"),
    path("console/teams/appoint/", views.appoint, name="team_appoint"),
]
