"""Reports: figures and HTML built from saved results (models/NAME, reports/NAME/scenarios).

Never imports PyMC model building or fitting; a report can be rebuilt in a fresh
process from the files alone.
"""
