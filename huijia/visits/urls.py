"""HTML screens of visits: the phone screens under /m/visits/ (and their service worker), the staff
console under /console/visits/. Included by huijia/urls.py."""

from django.urls import path

from huijia.visits import views

app_name = "visits"
urlpatterns = [
    # phone: members and building heads
    path("m/visits/", views.my_households, name="mine"),
    path("m/visits/sw.js", views.service_worker, name="service_worker"),
    path("m/visits/h/<int:household_id>/", views.household, name="household"),
    path("m/visits/h/<int:household_id>/new/", views.visit_form, name="form"),
    # staff console
    path("console/visits/", views.console_visits, name="console"),
    path("console/visits/households/<int:household_id>/", views.console_household, name="console_household"),
    path("visits/photos/<int:photo_id>/", views.photo, name="photo"),
]
