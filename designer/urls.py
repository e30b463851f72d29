"""URL routes of the designer app."""

urlpatterns: list = []
