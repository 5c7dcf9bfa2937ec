"""Configuration as typed, frozen data read from workbook tabs or ``mappings/`` CSV."""

from macros_py.config.errors import ConfigError, ConfigErrors
from macros_py.config.settings import Settings, parse_settings

__all__ = ["ConfigError", "ConfigErrors", "Settings", "parse_settings"]
