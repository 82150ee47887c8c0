"""Huiju (汇聚): the glue — CLI, settings and the pipeline runner that DAGs and the CLI share."""
