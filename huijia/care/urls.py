"""HTML screens (care). Included by huijia/urls.py."""

app_name = "care"
urlpatterns: list = []
