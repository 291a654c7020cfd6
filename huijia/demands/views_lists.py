"""HTML screens of demands: see the module list in huijia/demands/urls.py."""
