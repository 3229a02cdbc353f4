"""Experiments: run directories with manifests, the lab that runs every experiment, and the
plots built from manifests."""
