"""Stage 1, geometries (rules/geometries.smk): the sources of equilibrium molecules, their distorted
copies, the generated chemical space, and the pool they make.
"""
