"""Data layer: tokenizers, vocabularies, corpora and batching.

Imports nothing heavier than NumPy, so n-gram commands stay fast and torch-free.
"""
