"""Deployment tooling: the image builder (``deploy.docker``); the Helm chart lives beside it."""
