"""The one-command demo: build the sample departments' legacy sources, run every department
DAG once in real Airflow on the embedded store, and summarise where every row went."""
