"""Scoring: hardship types, rule scores, ranking, labels, model, evaluation, candidate list."""
