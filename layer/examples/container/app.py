"""Example handler for the container image: the secrets are ordinary environment variables."""

import os


def handler(event, context):
    return {"has_password": "DB_PASSWORD" in os.environ}
