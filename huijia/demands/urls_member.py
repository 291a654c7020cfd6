"""URLs of huijia.demands.views_member (see huijia/demands/urls.py)."""

from django.urls import path

from huijia.demands import views_member

urlpatterns = [
    path("m/demands/", views_member.mine_list, name="mine_list"),
    path("m/demands/post/", views_member.post_form, name="member_post"),
    path("m/demands/suggest/", views_member.suggest, name="suggest_category"),
    path("m/demands/<int:demand_id>/", views_member.detail, name="mine_detail"),
    path("m/demands/<int:demand_id>/do/<slug:step>/", views_member.act, name="mine_act"),
]
