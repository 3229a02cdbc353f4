"""Exporting a training run as a model folder with its model card (`seqlm export`)."""
