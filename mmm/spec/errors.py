"""The spec's error: a config that cannot be used as written."""


class ConfigError(ValueError):
    """The config cannot be used as written; the message names the key and the fix."""
