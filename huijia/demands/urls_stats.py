"""URLs of huijia.demands.views_stats (see huijia/demands/urls.py)."""

from django.urls import path

from huijia.demands import views_stats

urlpatterns = [
    path("console/demands/rates/", views_stats.rates_page, name="rates"),
]
