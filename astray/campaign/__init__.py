"""The campaign as planning sees it (rules/common.smk): the config files and profile, the checks before
any job runs, the pool planned without being built, and what the campaign will cost.
"""
