"""Stage 3, datasets (rules/datasets.smk): the molecule split, the nested training sets of each kind drawn
at random (splits), and the sets a committee of models chooses round by round (selection).
"""
