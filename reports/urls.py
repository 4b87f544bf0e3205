from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("", views.index, name="index"),
    path("students/<str:code>/", views.students, name="students"),
    path("students/<str:code>/grades/<int:level>/", views.students_grade, name="students_grade"),
    path("changes/<str:code>/", views.changes, name="changes"),
    path("changes/<str:code>/list/", views.change_list, name="change_list"),
    path("queues/<str:code>/", views.queues, name="queues"),
]
