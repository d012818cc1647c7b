"""The hub's own fixtures live in hub.testing, so third-party plugins can test with them too."""

pytest_plugins = ["hub.testing"]
