"""URL map: phone screens under /m/, staff console under /console/, JSON API under /api/v1/."""

from django.contrib import admin
from django.urls import include, path

from huijia.api import api

urlpatterns = [
    path("", include("huijia.accounts.urls")),
    path("", include("huijia.members.urls")),
    path("admin/", admin.site.urls),
    path("console/data/", include("huijia.core.urls")),
    path("", include("huijia.visits.urls")),
    path("", include("huijia.visits.campaign_urls")),
    path("", include("huijia.care.urls")),
    path("", include("huijia.demands.urls")),
    path("", include("huijia.volunteering.urls")),
    path("open311/v2/", include("huijia.demands.open311_urls")),
    path("api/v1/", api.urls),
]
