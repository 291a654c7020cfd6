"""URLs of huijia.demands.views_lists (see huijia/demands/urls.py): the three lists (三单) in the
console under /console/lists/, the member's service list under /m/services/."""

from django.urls import path

from huijia.demands import views_lists as views

urlpatterns = [
    # staff console
    path("console/lists/", views.home, name="lists_home"),
    path("console/lists/resources/", views.resources, name="lists_resources"),
    path("console/lists/resources/export/", views.resources_export, name="lists_resources_export"),
    path("console/lists/needs/", views.needs, name="lists_needs"),
    path("console/lists/needs/new/", views.need_new, name="lists_need_new"),
    path("console/lists/needs/households/", views.need_households, name="lists_need_households"),
    path("console/lists/needs/<int:need_id>/", views.need_detail, name="lists_need"),
    path("console/lists/needs/<int:need_id>/status/", views.need_status, name="lists_need_status"),
    path("console/lists/needs/<int:need_id>/link/", views.need_link, name="lists_need_link"),
    path(
        "console/lists/needs/<int:need_id>/unlink/<int:demand_id>/",
        views.need_unlink,
        name="lists_need_unlink",
    ),
    path("console/lists/services/", views.service_list, name="lists_services"),
    path("console/lists/services/new/", views.service_new, name="lists_service_new"),
    path("console/lists/services/<int:item_id>/", views.service_detail, name="lists_service"),
    path("console/lists/services/<int:item_id>/edit/", views.service_edit, name="lists_service_edit"),
    path("console/lists/services/<int:item_id>/claim/", views.service_claim, name="lists_service_claim"),
    path("console/lists/services/<int:item_id>/done/", views.service_done, name="lists_service_done"),
    path(
        "console/lists/services/<int:item_id>/take-down/",
        views.service_take_down,
        name="lists_service_take_down",
    ),
    path("console/lists/claims/<int:claim_id>/withdraw/", views.claim_withdraw, name="lists_claim_withdraw"),
    # member (phone)
    path("m/services/", views.my_services, name="lists_my_services"),
    path("m/services/<int:item_id>/claim/", views.my_claim, name="lists_my_claim"),
    path("m/services/claims/<int:claim_id>/withdraw/", views.my_withdraw, name="lists_my_withdraw"),
]
