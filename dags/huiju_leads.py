"""Huiju (汇聚) leads: the Airflow DAG for the national system's complaints, tip-offs and risk
leads (issue 13).

Pull: the department DAG `huiju_gs_hlwjg` (departments/gs_hlwjg.yaml) loads the national lead
feed on its schedule through the normal extract → validate → load, updating `core.complaint`
and `core.risk_lead`. This DAG follows those assets: it pulls the joint-supervision task
messages and routes every new lead to its competent department (config/lead_routing.yaml,
recorded in `audit.lead_routing`; `huiju leads list --overdue` shows what is late), then sends
the joint-supervision feedback of every department with results for its task. The
departments' dispositions load as the `lead_disposition` data set and go back to the national
system through the outbox by `huiju_deliver_national`. This file only wires.
"""

from huiju.dag_factory import build_leads_dag

huiju_leads = build_leads_dag(doc_md=__doc__)
