"""Shared parts of the LIC2020 baselines: data, BERT, metrics, submissions, training."""
