"""URLs of huijia.demands.views_public (see huijia/demands/urls.py)."""

from django.urls import path

from huijia.demands import views_public

urlpatterns = [
    path("d/t/<str:code>/", views_public.track, name="track"),
]
