"""Open311 GeoReport v2 under /open311/v2/ (huijia.demands.open311): every resource as .json or .xml."""

from django.urls import re_path

from huijia.demands import open311

app_name = "open311"

FORMAT = r"\.(?P<fmt>json|xml)$"

urlpatterns = [
    re_path(r"^discovery" + FORMAT, open311.discovery, name="discovery"),
    re_path(r"^services" + FORMAT, open311.service_list, name="services"),
    re_path(r"^services/(?P<code>[-\w]+)" + FORMAT, open311.service_definition, name="service"),
    re_path(r"^requests" + FORMAT, open311.requests, name="requests"),
    re_path(r"^requests/(?P<public_id>[-\w]+)" + FORMAT, open311.request_detail, name="request"),
    re_path(r"^tokens/(?P<token>\w+)" + FORMAT, open311.token, name="token"),
]
