"""HTML screens (campaigns). Included by huijia/urls.py."""

app_name = "campaigns"
urlpatterns: list = []
