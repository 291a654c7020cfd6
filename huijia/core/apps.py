from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "huijia.core"
    label = "core"
