"""Test settings: production settings with test-friendly environment defaults.

Values come from the environment like in production (DATABASE_URL picks SQLite or PostgreSQL);
only what a test run needs differently is defaulted here.
"""

import os

os.environ.setdefault(
    "SECRET_KEY", "test-secret-key-that-is-long-enough-for-django-checks-0123456789"
)
os.environ.setdefault("CREDENTIALS_KEY", "n0rKcWpBOyxPjGlpDyb7gbzGb8sAfc3WWG0kT3m8lJk=")
os.environ.setdefault("LEDGER_SIGNING_KEY", "Vk9WkEf0pPu0RX8yJ9vIb1MG3Pa0vE2C4GchZy9a8Vs=")
os.environ.setdefault("HTTPS", "0")
os.environ.setdefault("CACHE_URL", "locmemcache://")
os.environ.setdefault("EMAIL_URL", "memorymail://")
os.environ.setdefault("TASKS_IMMEDIATE", "1")
os.environ.setdefault("CLOUD_RETRY_TOTAL_SECONDS", "1")
# Webhook tests deliver to a receiver on 127.0.0.1.
os.environ.setdefault("WEBHOOKS_ALLOW_PRIVATE", "1")
# Browser tests need plain static storage (no manifest, no collectstatic).
os.environ.setdefault(
    "STATICFILES_STORAGE", "django.contrib.staticfiles.storage.StaticFilesStorage"
)

from sharing.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
