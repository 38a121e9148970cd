"""The CASSISjuice reduction pipeline: IRS instrument model, simulator and reduction steps."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cassisjuice-vo")
except PackageNotFoundError:  # running from a checkout that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
