"""Evaluation: the leave-one-out protocol, metrics, baselines, the harness and its reports."""
