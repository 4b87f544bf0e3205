from django.conf import settings
from django.http import QueryDict
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import patch_vary_headers

from registrar.text import strip_invisible


class LanguageMiddleware:
    """Chinese unless the user chose another language.

    Unlike Django's LocaleMiddleware this ignores the browser's Accept-Language: an office PC set up
    in English still shows the Chinese interface; the language chosen at the foot of the page (a
    cookie) is the only switch.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.available = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in self.available else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        patch_vary_headers(response, ["Cookie"])
        response.headers.setdefault("Content-Language", language)
        return response


# Submitted as forms: the bodies whose fields Django parses into request.POST.
FORM_CONTENT_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


class CleanFormTextMiddleware:
    """Every submitted form field loses its invisible characters (registrar.text.strip_invisible:
    bidirectional controls, zero-width and other format characters) before any form or view sees it:
    the pages, the admin and any form added later alike.

    Passwords are left exactly as typed: they are compared, never shown.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.content_type in FORM_CONTENT_TYPES:
            request.POST = clean_form_text(request.POST)
        return self.get_response(request)


def clean_form_text(post):
    if all(value.isprintable() for _key, values in post.lists() for value in values):
        return post
    cleaned = QueryDict(mutable=True, encoding=post.encoding)
    for key, values in post.lists():
        cleaned.setlist(key, values if "password" in key else [strip_invisible(value) for value in values])
    cleaned._mutable = False
    return cleaned


class ContentSecurityPolicyMiddleware:
    """settings.CONTENT_SECURITY_POLICY on every response that has no policy of its own.

    Our pages load nothing from elsewhere and have no inline script or style (tests/test_security_headers.py
    checks the templates), so the policy allows only our own origin. Files streamed by
    registrar.uploads.serve_private_file set a stricter one.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # Django's debug pages (DEBUG only, errors only) are made of inline styles and scripts.
        if settings.DEBUG and response.status_code >= 400:
            return response
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


class FriendlyNotFoundMiddleware:
    """With DEBUG on (the demo of `make run`), Django answers a mistyped address with its technical
    page, in English, listing every URL pattern of the project. Users of the demo get the product's
    own Chinese "not found" page instead, as in production (issue #18, item 20)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            settings.DEBUG
            and response.status_code == 404
            and response.get("Content-Type", "").startswith("text/html")
        ):
            response = render(request, "404.html", status=404)
        return response
