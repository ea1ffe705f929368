"""Renderers turn a Report into text; nothing is decided here."""
