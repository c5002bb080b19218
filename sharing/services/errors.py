"""Errors of the service layer: a rule stops the action. Cloud failures stay `CloudError`s."""

from sharing.cloud import Image


class ApplicationError(Exception):
    """A rule stops the action; the message is for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ImageIsPrivate(ApplicationError):
    """The image must be switched to `shared` first (Images API v2.5+; docs/glance.md)."""

    def __init__(self, image: Image) -> None:
        super().__init__(
            f"Image '{image.name or image.id}' is private. Make it shared before adding members?"
        )
        self.image = image


class JustificationNeeded(ApplicationError):
    """A share that becomes access requests for an admin must say why (the request's
    justification); the page asks for it on the request form, the API on `note`."""

    def __init__(self) -> None:
        super().__init__("Say why the tenants need this image: an admin decides on it.")
