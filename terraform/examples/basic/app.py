"""Example handler: reports which of the expected variables lambda-secrets set (never their values)."""

import os

EXPECTED = ("DB_USER", "DB_PASSWORD", "API_KEY")


def handler(event, context):
    return {name: (name in os.environ) for name in EXPECTED}
