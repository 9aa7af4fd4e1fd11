"""Coding against a codebook.

The codebook, zero-shot and supervised coders, training, suggestions and
auto-codes.
"""
