"""Bureau web pages (staff login required)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required(login_url="/admin/login/")
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "inspections/home.html", {})
