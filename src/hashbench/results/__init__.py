"""Results: one schema for every measurement, pytest-benchmark-compatible files, the history database, the
statistical compare gate, side-by-side (A/B) runs, exporters and the HTML report.

Modules: schema (records), fingerprint (the machine), stats (quartiles, Mann-Whitney U), pbjson (files in and
out), history (SQLAlchemy), compare (the gate), ab (base vs head in one job), exporters/, report (plotly HTML).
Only history and report need extra packages (the `results` extra); they import them when called."""
