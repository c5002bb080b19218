"""Settings, all from the environment (django-environ; a `.env` file is read if present).

Every variable is listed with a comment in `.env.example`. A value that cannot be parsed
stops start-up with an `ImproperlyConfigured` error naming the variable.
"""

import base64
import hashlib
import re
from datetime import timedelta
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from sharing.signin import rolemap

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool = False) -> bool:
    """A strict boolean: "maybe" is an error, not a silent False."""
    raw = env.str(name, default=str(default)).strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}."
    )


def env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = env.str(name, default=str(default)).strip()
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {raw!r}.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {value}.")
    return value


def env_float(name: str, default: float, minimum: float = 0.0) -> float:
    raw = env.str(name, default=str(default)).strip()
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number of seconds; got {raw!r}.") from None
    if value <= minimum:
        raise ImproperlyConfigured(f"{name} must be more than {minimum}; got {value}.")
    return value


def env_url(name: str, default: str, parse):
    raw = env.str(name, default=default)
    try:
        return parse(raw)
    except Exception as exc:  # environ raises several types for one bad URL
        raise ImproperlyConfigured(f"{name} is not a valid URL ({exc}): {raw!r}.") from None


DEBUG = env_bool("DEBUG", False)
DEMO = env_bool("DEMO", False)
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="demo-password")

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not (DEBUG or DEMO):
        raise ImproperlyConfigured("SECRET_KEY is required unless DEBUG or DEMO is on.")
    SECRET_KEY = "insecure-dev-key-only-for-debug-and-demo-" + "x" * 20

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])


def _credential_keys() -> list[str]:
    """Fernet keys, newest first; older keys still decrypt (rotation)."""
    keys = env.list("CREDENTIALS_KEY", default=[])
    if not keys:
        if not (DEBUG or DEMO):
            raise ImproperlyConfigured(
                "CREDENTIALS_KEY is required unless DEBUG or DEMO is on "
                "(generate one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')."
            )
        digest = hashlib.sha256(("credentials:" + SECRET_KEY).encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    for key in keys:
        try:
            Fernet(key)
        except ValueError:
            raise ImproperlyConfigured(
                "CREDENTIALS_KEY must be comma-separated Fernet keys (32 url-safe base64 bytes)."
            ) from None
    return keys


CREDENTIALS_KEYS = _credential_keys()


def _ledger_signing_key() -> str:
    """The Ed25519 key that signs the ledger's checkpoints: 32 random bytes, base64."""
    raw = env.str("LEDGER_SIGNING_KEY", default="")
    if not raw:
        if not (DEBUG or DEMO):
            raise ImproperlyConfigured(
                "LEDGER_SIGNING_KEY is required unless DEBUG or DEMO is on (generate one with: "
                "python -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')."
            )
        return base64.b64encode(hashlib.sha256(("ledger:" + SECRET_KEY).encode()).digest()).decode()
    try:
        if len(base64.b64decode(raw, validate=True)) == 32:
            return raw
    except ValueError:
        pass
    raise ImproperlyConfigured("LEDGER_SIGNING_KEY must be 32 bytes in base64 (an Ed25519 key).")


LEDGER_SIGNING_KEY = _ledger_signing_key()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_tasks_db",
    "ninja",  # the automation API: its docs page and static files
    "axes",
    "sharing",
    # Sign-in (docs/design.md, "Sign-in"): passwords with a second factor, and single sign-on.
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.mfa",
    "sharing.signin",
    "sharing.webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "sharing.signin.middleware.SecondFactorMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "sharing.urls"
WSGI_APPLICATION = "sharing.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "sharing.context_processors.navigation",
                "sharing.signin.context.signin",
            ],
        },
    },
]

DATABASES = {
    "default": env_url("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}", env.db_url_config)
}
if "." not in DATABASES["default"]["ENGINE"]:
    raise ImproperlyConfigured(
        f"DATABASE_URL has an unknown scheme {DATABASES['default']['ENGINE']!r}; "
        "use sqlite:/// or postgres://."
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several threads (the bulk share pool, the dev server) write to one file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )
# Persistent connections: opening a PostgreSQL connection per request costs more than the
# request (bench/connections.py). Health checks replace a connection the server dropped.
DATABASES["default"]["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env_bool("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Tokens are cached here, so it must be shared by every process: the database cache by
# default (`createcachetable` runs with the release step), Redis or Memcached in production.
CACHES = {"default": env_url("CACHE_URL", "dbcache://sharing_cache", env.cache_url_config)}


def _mailer(config: dict) -> dict:
    """django-environ's EMAIL_URL parts as a Django 6.1 MAILERS entry."""
    options = {
        "host": config.get("EMAIL_HOST"),
        "port": config.get("EMAIL_PORT"),
        "username": config.get("EMAIL_HOST_USER"),
        "password": config.get("EMAIL_HOST_PASSWORD"),
        "use_tls": config.get("EMAIL_USE_TLS"),
        "use_ssl": config.get("EMAIL_USE_SSL"),
        "file_path": config.get("EMAIL_FILE_PATH"),
    }
    return {
        "BACKEND": config["EMAIL_BACKEND"],
        "OPTIONS": {key: value for key, value in options.items() if value},
    }


# Mail is not optional in production: requesters learn decisions and admins learn of requests
# only by e-mail, so without EMAIL_URL start-up stops (the console is for DEBUG and DEMO).
if not (DEBUG or DEMO) and not env.str("EMAIL_URL", default=""):
    raise ImproperlyConfigured(
        "EMAIL_URL is required unless DEBUG or DEMO is on, e.g. "
        "smtp+tls://user:password@smtp.example.com:587 (decisions and requests go out by e-mail)."
    )
MAILERS = {"default": _mailer(env_url("EMAIL_URL", "consolemail://", env.email_url_config))}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="dashboard@localhost")
# Links in e-mails point here.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

TASKS_IMMEDIATE = env_bool("TASKS_IMMEDIATE", DEMO)
TASKS = {
    "default": {
        "BACKEND": (
            "django.tasks.backends.immediate.ImmediateBackend"
            if TASKS_IMMEDIATE
            else "django_tasks_db.DatabaseBackend"
        )
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Log-in throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one user from
# one address, that pair is locked out for AXES_COOLOFF_MINUTES (0: until an admin unlocks it
# in Django admin, "Access attempts", or with `manage.py axes_reset_username`).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "sharing.signin.backends.PasswordBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
_cooloff_minutes = env_int("AXES_COOLOFF_MINUTES", 30)
AXES_COOLOFF_TIME = timedelta(minutes=_cooloff_minutes) if _cooloff_minutes else None
# Comma-separated alternatives, each a field or fields joined by "+" (locked together).
AXES_LOCKOUT_PARAMETERS = [
    part.split("+") if "+" in part else part
    for part in env.list("AXES_LOCKOUT_PARAMETERS", default=["username+ip_address"])
]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # axes logs every start and log-in otherwise; attempts are in /admin/
AXES_USERNAME_CALLABLE = "sharing.access.login_username"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sign-in through django-allauth (docs/design.md, "Sign-in"). Nobody signs themselves up: local
# users are made by a superuser, single sign-on users at their first sign-in.
ACCOUNT_ADAPTER = "sharing.signin.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "sharing.signin.adapters.SocialAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = True  # sessions last SESSION_COOKIE_AGE, as before; no "remember me"
# django-axes counts wrong passwords; allauth's own counter would double it.
ACCOUNT_RATE_LIMITS = {"login_failed": None}
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False  # never join an SSO identity to a user by e-mail
SOCIALACCOUNT_STORE_TOKENS = False
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_PASSKEY_LOGIN_ENABLED = False
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="Image sharing")
# Passkeys need a secure context: HTTPS, or http://localhost in development and tests.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG or DEMO

PASSWORD_LOGIN = env_bool("PASSWORD_LOGIN", True)
OIDC_ISSUER = env.str("OIDC_ISSUER", default="").strip()
OIDC_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="").strip()
OIDC_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")
OIDC_NAME = env.str("OIDC_NAME", default="single sign-on").strip()
OIDC_ROLES_CLAIM = env.str("OIDC_ROLES_CLAIM", default="groups").strip()
OIDC_HELP_CONTACT = env.str("OIDC_HELP_CONTACT", default="").strip()
OIDC_CHECK_AT_START = env_bool("OIDC_CHECK_AT_START", True)
try:
    OIDC_TEAM_ROLE_MAP = rolemap.parse(env.str("OIDC_TEAM_ROLE_MAP", default="img-{team}-{role}"))
except rolemap.RoleMapError as error:
    raise ImproperlyConfigured(f"OIDC_TEAM_ROLE_MAP: {error}") from None
if OIDC_ISSUER and not re.match(r"https?://[^/]", OIDC_ISSUER):
    raise ImproperlyConfigured(f"OIDC_ISSUER must be an http(s) URL; got {OIDC_ISSUER!r}.")
if OIDC_ISSUER and not OIDC_CLIENT_ID:
    raise ImproperlyConfigured("OIDC_CLIENT_ID is required when OIDC_ISSUER is set.")
if not (PASSWORD_LOGIN or OIDC_ISSUER):
    raise ImproperlyConfigured(
        "PASSWORD_LOGIN=0 needs OIDC_ISSUER: without single sign-on only superusers could sign in."
    )


def sso_providers(issuer: str, client_id: str, secret: str, name: str) -> dict:
    """django-allauth's provider settings for the single sign-on app (none without issuer)."""
    scopes = ["openid", "profile", "email", *env.list("OIDC_EXTRA_SCOPES", default=["groups"])]
    app: dict[str, object] = {"client_id": client_id, "secret": secret, "name": name}
    app["settings"] = {"server_url": issuer}
    return {"sso": {"OAUTH_PKCE_ENABLED": True, "SCOPE": scopes, "APPS": [app] if issuer else []}}


SOCIALACCOUNT_PROVIDERS = sso_providers(OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_NAME)

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_STORAGE", default="whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Security. Behind HTTPS (the default outside DEBUG) `check --deploy` is clean.
HTTPS = env_bool("HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

# The public request link is throttled per address and per link (django-ratelimit; counts are
# exact with Redis or Memcached as CACHE_URL, approximate with the database cache).
OUTSIDE_REQUEST_RATE_PER_ADDRESS = env.str("OUTSIDE_REQUEST_RATE_PER_ADDRESS", default="5/h")
OUTSIDE_REQUEST_RATE_PER_LINK = env.str("OUTSIDE_REQUEST_RATE_PER_LINK", default="50/h")

# The automation API (/api/v1/): calls per token (django-ratelimit, like the request link).
API_RATE_PER_TOKEN = env.str("API_RATE_PER_TOKEN", default="300/m").strip()
if not re.fullmatch(r"[1-9]\d*/\d*[smhd]", API_RATE_PER_TOKEN):
    raise ImproperlyConfigured(
        "API_RATE_PER_TOKEN must be count/period, e.g. 300/m or 1000/h; "
        f"got {API_RATE_PER_TOKEN!r}."
    )

# The cloud client.
CLOUD_CONNECT_TIMEOUT = env_float("CLOUD_CONNECT_TIMEOUT", 5.0)
CLOUD_READ_TIMEOUT = env_float("CLOUD_READ_TIMEOUT", 30.0)
CLOUD_RETRY_TOTAL_SECONDS = env_float("CLOUD_RETRY_TOTAL_SECONDS", 15.0)
CLOUD_SHARE_CONCURRENCY = env_int("CLOUD_SHARE_CONCURRENCY", 8, minimum=1)
# Glance's image_member_quota (128 by default); the API does not tell, so it is configured.
CLOUD_MEMBER_LIMIT = env_int("CLOUD_MEMBER_LIMIT", 128, minimum=1)
# Webhooks: seconds a delivery may take, and whether destinations on loopback, private or
# link-local addresses are called (the demo's receiver and the tests; never in production).
WEBHOOKS_TIMEOUT = env_float("WEBHOOKS_TIMEOUT", 10.0)
WEBHOOKS_ALLOW_PRIVATE = env_bool("WEBHOOKS_ALLOW_PRIVATE", DEMO)
# The built-in cloud (DEMO): teams whose identity URL starts with this are served in-process
# from the SQLite file below, so every process of the dashboard sees the same cloud.
FAKE_CLOUD_URL = "http://cloud.demo.invalid"
FAKE_CLOUD_DB = env.str("FAKE_CLOUD_DB", default=str(BASE_DIR / "var" / "fakecloud.sqlite3"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # A line per task state is noise where tasks run at once (demo, tests); the worker's own
    # command still reports each task.
    "loggers": {"django.tasks": {"level": "WARNING" if TASKS_IMMEDIATE else "INFO"}},
}
