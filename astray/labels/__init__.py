"""Stage 2, labels (rules/labels.smk): levels of theory and the electronic state of each geometry,
the quantum-chemistry engines, labeling, and the labels that come with files and their audit.
"""
