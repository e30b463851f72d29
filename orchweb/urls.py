"""Root URL configuration: project-level routes here; each app owns its own."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from orchweb import views
from orchweb.ratelimit import RateLimitedLoginView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="designer-project-list"), name="orchweb-home"),
    path("healthz", views.healthz, name="orchweb-healthz"),
    path("readyz", views.readyz, name="orchweb-readyz"),
    # Before Django's auth URLs, so /accounts/login/ is the rate-limited view.
    path("accounts/login/", RateLimitedLoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("", include("designer.urls")),
    path("", include("simulator.urls")),
]
