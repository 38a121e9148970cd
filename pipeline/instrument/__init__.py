"""The Spitzer/IRS instrument model, built on the SSC calibration tables."""

from .calibration import CHANNELS, CalibrationError, CalibrationSet, default_calibration
from .ipac import IpacError, IpacTable, read_ipac_table
from .model import IRSModel, Module, Order, SubSlit, default_model

__all__ = [
    "CHANNELS",
    "CalibrationError",
    "CalibrationSet",
    "IRSModel",
    "IpacError",
    "IpacTable",
    "Module",
    "Order",
    "SubSlit",
    "default_calibration",
    "default_model",
    "read_ipac_table",
]
