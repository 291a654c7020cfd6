"""HTML screens (visits). Included by huijia/urls.py."""

app_name = "visits"
urlpatterns: list = []
