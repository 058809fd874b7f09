"""Accessors for what create_app put on the app: settings and instance secrets."""

from __future__ import annotations

from flask import current_app

from app.blobs import BlobStore
from config import Secrets, Settings


def get_settings() -> Settings:
    """The running app's settings."""
    settings: Settings = current_app.extensions["haechi.settings"]
    return settings


def get_blobs() -> BlobStore:
    """The blob store of encrypted files."""
    store: BlobStore = current_app.extensions["haechi.blobs"]
    return store


def get_secrets() -> Secrets:
    """The running app's instance secrets."""
    secrets: Secrets = current_app.extensions["haechi.secrets"]
    return secrets
