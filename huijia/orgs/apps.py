from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "huijia.orgs"
    label = "orgs"
    verbose_name = "组织"
