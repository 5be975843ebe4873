"""The Django peer of issue 14's table: a login_required view rendering the
signed-in user's name from a template, database sessions, the cached template
loader, DEBUG off; served by gunicorn with threads (bench/run.sh, BENCH_DJANGO=1).

  python peer.py seed   migrate, create a user, sign in: prints the session cookie
  gunicorn peer:application
"""
import os
import sys

from django.conf import settings

HERE = os.path.dirname(os.path.abspath(__file__))
settings.configure(
    DEBUG=False,
    SECRET_KEY=os.environ.get("PEER_SECRET", "bench-" + "x" * 50),
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
    ],
    MIDDLEWARE=[
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("PEER_DB", os.path.join(HERE, "peer.db")),
        }
    },
    SESSION_ENGINE="django.contrib.sessions.backends.db",
    TEMPLATES=[
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [os.path.join(HERE, "templates")],
            "OPTIONS": {
                "loaders": [
                    (
                        "django.template.loaders.cached.Loader",
                        ["django.template.loaders.filesystem.Loader"],
                    )
                ]
            },
        }
    ],
    LOGIN_URL="/login/",
    USE_TZ=True,
)

import django  # noqa: E402

django.setup()

from django.contrib.auth.decorators import login_required  # noqa: E402
from django.shortcuts import render  # noqa: E402
from django.urls import path  # noqa: E402


@login_required
def page(request):
    return render(request, "page.html", {"user": request.user})


urlpatterns = [path("", page)]

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()

if __name__ == "__main__" and sys.argv[1:] == ["seed"]:
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    User.objects.create_user("reader", "reader@example.org", "correct horse battery")
    client = Client()
    assert client.login(username="reader", password="correct horse battery")
    print("sessionid=" + client.cookies["sessionid"].value)
