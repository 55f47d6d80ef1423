"""Project package: settings, URLs, Celery, storage, tokens, audit log, errors, health."""

from backend.celery import app as celery_app

__all__ = ("celery_app",)
