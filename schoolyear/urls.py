from django.urls import path

from schoolyear import views

app_name = "schoolyear"

urlpatterns = [
    path("", views.home, name="home"),
    path("org/<str:code>/promotion/", views.preview, name="preview"),
    path("org/<str:code>/promotion/run/", views.run_start, name="run_start"),
    path("org/<str:code>/mapping/", views.mapping, name="mapping"),
    path("org/<str:code>/classes/", views.next_classes, name="classes"),
    path("org/<str:code>/teachers/", views.teachers, name="teachers"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/undo/", views.run_undo, name="undo"),
]
