from django.urls import path

from huijia.members import views

app_name = "members"
urlpatterns = [
    path("m/", views.member_home, name="home"),
    path("m/card/", views.member_card, name="card"),
    path("console/registrations/", views.queue, name="queue"),
    path("console/members/", views.roster, name="roster"),
]
