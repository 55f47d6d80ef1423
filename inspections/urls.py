from django.urls import path

from inspections import views

app_name = "bureau"

urlpatterns = [
    path("", views.home, name="home"),
    path("review/", views.review_desk, name="review"),
    path("review/<uuid:finding_uuid>/", views.review_decide, name="review-decide"),
]
