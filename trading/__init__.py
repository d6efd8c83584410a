"""Shared trading vocabulary: the W7 leg schema, StrategyType and the decimal rules.

A plain package (no models, no app config): the walkthrough and the journal both import it,
and otherwise import nothing from each other (besides `flags`).
"""
