"""Open311 GeoReport v2 under /open311/v2/ (huijia.demands.open311)."""

urlpatterns: list = []
