"""Stage 5, evaluation (rules/evaluation.smk, rules/references.smk): the probes and their exact
curves, each model's errors and dynamics, and the result cube with its scaling fits.
"""
