from django.urls import path

from inspections import views

app_name = "bureau"

urlpatterns = [
    path("", views.home, name="home"),
]
