"""The version of seqlm, in one place: the manifests, figures and pages record it."""

__version__ = "0.1.0"
