"""Scan and rewrite TF1 regularization idioms by qualified name (``compat-reg scan`` / ``migrate``)."""
