"""vt-audit: audit of ViaTrajectoire Handicap / ROR user accounts of ESMS."""

__version__ = "0.1.0"
