"""Excel import and export in the staff console, mounted at /console/data/."""

from django.urls import path

from huijia.core import views

app_name = "data"
urlpatterns = [
    path("", views.home, name="home"),
    path("import/<str:kind>/", views.upload, name="upload"),
    path("jobs/<int:pk>/", views.job_detail, name="job"),
    path("jobs/<int:pk>/progress/", views.job_progress, name="job_progress"),
    path("jobs/<int:pk>/report/", views.job_report, name="job_report"),
    path("templates/<str:kind>/", views.template, name="template"),
    path("export/households/", views.export_households, name="export_households"),
    path("export/members/", views.export_members, name="export_members"),
]
