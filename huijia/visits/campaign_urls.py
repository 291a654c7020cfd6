"""HTML screens (campaigns, 敲门行动): the console under /console/campaigns/, the phone under /m/campaigns/.

Included by huijia/urls.py.
"""

from django.urls import path

from huijia.visits import campaign_views as views

app_name = "campaigns"
urlpatterns = [
    # staff console
    path("console/campaigns/", views.campaign_list, name="list"),
    path("console/campaigns/new/", views.campaign_new, name="new"),
    path("console/campaigns/new/count/", views.campaign_count, name="count"),
    path("console/campaigns/<int:campaign_id>/", views.campaign_detail, name="detail"),
    path("console/campaigns/<int:campaign_id>/close/", views.campaign_close, name="close"),
    path("console/campaigns/<int:campaign_id>/export/", views.campaign_export, name="export"),
    # phone: members, and anyone who may record an outcome
    path("m/campaigns/", views.my_campaigns, name="mine"),
    path("m/campaigns/<int:campaign_id>/", views.share, name="share"),
    path("m/campaigns/<int:campaign_id>/h/<int:household_id>/", views.record, name="record"),
]
