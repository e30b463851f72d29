"""URL routes of the designer app (pages); the JSON API lives in designer/api_urls.py."""

from django.urls import path

from designer import views

urlpatterns = [
    path("projects/", views.project_list, name="designer-project-list"),
]
