"""The reports of the project, built from its records: sections compute tables and sentences
(faig.tables.Table), one renderer (faig.tables.render) writes the markdown.

findings: the paper's findings as checks on plain numbers; records: reading what a run recorded; network: one
network's section; budgets: default budget vs --full; studies: the retraining and prediction studies;
summary: the opening table; report: results/report.md; results_page: docs/results.md.
"""
