"""Builds the TrackCC images from Debian's packages and PyPI, with no container registry."""
