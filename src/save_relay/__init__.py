"""save-relay: a moderated mail relay for police-industry information networks."""

__version__ = "0.1.0"
