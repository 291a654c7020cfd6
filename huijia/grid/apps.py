from django.apps import AppConfig


class GridConfig(AppConfig):
    name = "huijia.grid"
    label = "grid"
    verbose_name = "网格"
