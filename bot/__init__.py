"""Passerelle: a conversational assistant orienting people towards digital-inclusion help."""

__version__ = "0.1.0"
