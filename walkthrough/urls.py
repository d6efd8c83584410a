"""Uniform walkthrough routes (SPEC W4): no route segment per scenario."""

from django.urls import path

from walkthrough import views

app_name = "walkthrough"

urlpatterns = [
    path("", views.SummaryView.as_view(), name="summary"),
    path("screen/1", views.DoorScreenView.as_view(), name="screen-1"),
    path("screen/2", views.ScenarioScreenView.as_view(), name="screen-2"),
    path("screen/3", views.BuilderScreenView.as_view(), name="screen-3"),
    path("screen/simple/1", views.SimpleBuilderView.as_view(), name="screen-simple-1"),
    path("screen/4", views.ReviewScreenView.as_view(), name="screen-4"),
    path("screen/5", views.SurveyScreenView.as_view(), name="screen-5"),
]
