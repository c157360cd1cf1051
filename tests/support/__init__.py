"""Test infrastructure for lambda-secrets: moto launcher control, TLS material, a container
credentials server, the sentinel registry and the runner for the real binary."""
