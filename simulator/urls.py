"""URL routes of the simulator app."""

from django.urls import path

urlpatterns: list = []
