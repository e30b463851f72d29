"""Server-rendered pages of the designer app."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    """List the projects of every team the user belongs to."""
    return render(request, "designer/project_list.html", {})
