from django.apps import AppConfig


class VisitsConfig(AppConfig):
    name = "huijia.visits"
    label = "visits"
    verbose_name = "入户走访"
