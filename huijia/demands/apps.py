from django.apps import AppConfig


class DemandsConfig(AppConfig):
    name = "huijia.demands"
    label = "demands"
    verbose_name = "居民诉求"
