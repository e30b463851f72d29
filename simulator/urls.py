"""URL routes of the simulator app."""

urlpatterns: list = []
