"""What every benchmark shares, so each one holds only what it measures.

* :mod:`bench.harness.cli` — the command line skeleton: the parser with the common options, and
  ``run_main``: run, print the Markdown report, write the JSON result file, exit code.
* :mod:`bench.harness.results` — the results directory, the JSON file, the environment and
  version header every result file carries.
* :mod:`bench.harness.tables` — the Markdown tables the reports print (ready for BENCHMARKS.md).
* :mod:`bench.harness.histograms` — HdrHistogram construction and percentile summaries.
* :mod:`bench.harness.progress` — the rich progress bars.
* :mod:`bench.harness.stack` — fresh ``bench-<uuid8>`` names, reading topics back, and deleting
  a run's topics, groups, schema subjects and files afterwards.
"""
