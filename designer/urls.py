"""URL routes of the designer app."""

from django.urls import path

urlpatterns: list = []
