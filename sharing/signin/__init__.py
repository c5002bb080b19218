"""Sign-in: local passwords with a second factor, and OpenID Connect single sign-on, both
through django-allauth (docs/design.md, "Sign-in")."""
