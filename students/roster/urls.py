from django.urls import path

from students.roster import views

urlpatterns = [
    path("", views.batches, name="roster_imports"),
    path("template.xlsx", views.template, name="roster_template"),
    path("export.xlsx", views.export, name="roster_export"),
    path("exports/<int:pk>/", views.export_job, name="roster_export_job"),
    path("exports/<int:pk>/progress.json", views.export_progress, name="roster_export_progress"),
    path("exports/<int:pk>/download/", views.export_download, name="roster_export_download"),
    path("<str:code>/upload/", views.upload, name="roster_upload"),
    path("batches/<int:pk>/", views.batch, name="roster_batch"),
    path("batches/<int:pk>/confirm/", views.confirm, name="roster_confirm"),
    path("batches/<int:pk>/progress.json", views.progress, name="roster_progress"),
    path("batches/<int:pk>/errors.xlsx", views.errors, name="roster_errors"),
]
