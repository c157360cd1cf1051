"""Example handler: reports which of the expected variables lambda-secrets set (never their values)."""

import os

EXPECTED = ("DB_USER", "DB_PASSWORD", "DB_PORT", "API_KEY", "DB_HOST", "DB_TOKEN")


def handler(event, context):
    return {name: (name in os.environ) for name in EXPECTED}
