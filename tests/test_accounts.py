from django.urls import reverse

from tests.conftest import make_user


def test_login_with_the_right_password(client, school):
    make_user("wang", school, ["school_registrar"])
    response = client.post(reverse("login"), {"username": "wang", "password": "pw"})
    assert response.status_code == 302
    assert response["Location"] == reverse("registrar:dashboard")


def test_a_wrong_password_says_so_in_chinese(client, school):
    make_user("wang", school, ["school_registrar"])
    response = client.post(reverse("login"), {"username": "wang", "password": "nope"})
    assert response.status_code == 200
    assert "请输入一个正确的" in response.content.decode()


def test_login_is_throttled_after_repeated_failures(client, school, settings):
    make_user("wang", school, ["school_registrar"])
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "wang", "password": "nope"})
    # Even the right password is refused while the account is locked.
    response = client.post(reverse("login"), {"username": "wang", "password": "pw"})
    assert response.status_code == 429
    assert "登录失败次数过多" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_another_user_is_not_locked_by_someone_elses_failures(client, school, settings):
    make_user("wang", school, ["school_registrar"])
    make_user("li", school, ["principal"])
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "wang", "password": "nope"})
    response = client.post(reverse("login"), {"username": "li", "password": "pw"})
    assert response.status_code == 302


def test_every_page_requires_login(client, school, school_class):
    urls = [
        reverse("registrar:dashboard"),
        reverse("registrar:node", args=[school.code]),
        reverse("registrar:node_history", args=[school.code]),
        reverse("registrar:sync_grades", args=[school.code]),
        reverse("registrar:class_create", args=[school.code]),
        reverse("registrar:class_edit", args=[school_class.pk]),
        reverse("registrar:class_history", args=[school_class.pk]),
        reverse("password_change"),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_many_user_names_from_one_address_lock_the_address(client, school, settings):
    make_user("wang", school, ["school_registrar"])
    # 8 user names × 4 tries: never 5 for one of them, 32 from the address.
    for name in ("zhao", "qian", "sun", "li", "zhou", "wu", "zheng", "feng"):
        for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
            client.post(reverse("login"), {"username": name, "password": "nope"})

    response = client.post(reverse("login"), {"username": "wang", "password": "pw"})

    assert response.status_code == 429
    assert "登录失败次数过多" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Another address is not concerned.
    elsewhere = client.post(reverse("login"), {"username": "wang", "password": "pw"}, REMOTE_ADDR="10.1.2.3")
    assert elsewhere.status_code == 302


def test_the_address_limit_counts_failures_across_user_names(client, school, settings):
    make_user("wang", school, ["school_registrar"])
    for number in range(settings.LOGIN_ADDRESS_FAILURE_LIMIT - 1):
        client.post(reverse("login"), {"username": f"guess{number}", "password": "nope"})
    assert client.post(reverse("login"), {"username": "wang", "password": "pw"}).status_code == 302
    client.logout()

    # Logging in to one's own account did not wipe the address's failures for other user names.
    client.post(reverse("login"), {"username": "guess", "password": "nope"})
    response = client.post(reverse("login"), {"username": "wang", "password": "pw"})

    assert response.status_code == 429
