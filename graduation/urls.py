from django.urls import path

from graduation import views

app_name = "graduation"

urlpatterns = [
    path("", views.home, name="home"),
    path("org/<str:code>/template.xlsx", views.template_download, name="template"),
    path("org/<str:code>/results/", views.results, name="results"),
    path("imports/<int:pk>/errors.xlsx", views.import_errors, name="import_errors"),
    path("org/<str:code>/audit/", views.audit_page, name="audit"),
    path("org/<str:code>/audit.xlsx", views.audit_export, name="audit_export"),
    path("org/<str:code>/propose/", views.propose, name="propose"),
    path("org/<str:code>/documents/", views.documents_page, name="documents"),
    path("org/<str:code>/documents.xlsx", views.documents_export, name="documents_export"),
    path("lists/<int:pk>/", views.list_detail, name="list"),
    path("lists/<int:pk>/entries/", views.list_entries, name="list_entries"),
    path("lists/<int:pk>/add/", views.list_add, name="list_add"),
    path("lists/<int:pk>/entries/<int:entry_pk>/delete/", views.entry_delete, name="entry_delete"),
    path("lists/<int:pk>/entries/<int:entry_pk>/take-out/", views.entry_take_out, name="entry_take_out"),
    path("certificates/<int:pk>/", views.certificate, name="certificate"),
    path("certificates/<int:pk>/withhold/", views.certificate_withhold, name="certificate_withhold"),
    path("certificates/<int:pk>/release/", views.certificate_release, name="certificate_release"),
    path("certificates/<int:pk>/proof/", views.proof, name="proof"),
    path("certificates/<int:pk>/<str:kind>/", views.case_start, name="case_start"),
    path("cases/<int:pk>/", views.case_detail, name="case"),
]
