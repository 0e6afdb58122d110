"""The report (rules/report.smk): plots, tables, the explorer page and the findings in sentences, all
written from the result cube.
"""
