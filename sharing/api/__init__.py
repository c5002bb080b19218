"""The automation API (/api/v1/): schemas and thin endpoints over the services, token
authentication, idempotency keys and problem details. Built on django-ninja."""
