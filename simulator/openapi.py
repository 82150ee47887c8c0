"""The simulator's OpenAPI document, generated from the pydantic models (bodies) and the shape
files (one path per platform resource, with its payload's fields)."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from simulator.faults import FAULT_KINDS
from simulator.models import (
    BATCH_ADAPTER,
    MAX_BATCH,
    BatchOut,
    FeedStatus,
    LeadPage,
    LedgerOut,
    ProblemOut,
    TaskPage,
)
from simulator.shapes import PLATFORM_NAMES, PLATFORMS, ResourceShape

_REF = "#/components/schemas/{model}"
_JSON_TYPES = {"string": {"type": "string"}, "date": {"type": "string", "format": "date"},
               "datetime": {"type": "string", "format": "date-time"},
               "decimal": {"type": ["number", "string"]},
               "integer": {"type": ["integer", "string"]}}


def _json(schema_ref: str, description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": _REF.format(model=schema_ref)}}}}


def payload_schema(resource: ResourceShape) -> dict[str, Any]:
    """JSON Schema of one resource's payload, from its shape."""
    properties = {}
    for field in resource.fields:
        prop = dict(_JSON_TYPES[field.type])
        if field.max_length:
            prop["maxLength"] = field.max_length
        if field.required_when:
            other, values = field.required_when
            prop["description"] = f"required when {other} is one of {list(values)}"
        properties[field.code] = prop
    return {"type": "object", "title": f"{resource.platform}.{resource.name}",
            "description": f"{resource.zh or resource.name} (data set {resource.dataset})",
            "properties": properties, "additionalProperties": False,
            "required": [f.code for f in resource.fields if f.required]}


def feed_paths() -> dict[str, Any]:
    """The national feeds (leads, joint-supervision tasks) and their test controls."""
    page = [{"name": "cursor", "in": "query", "schema": {"type": "string"},
             "description": "next_cursor of the previous page (absent: from the start)"},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                        "maximum": 500, "default": 100}}]
    errors = {code: _json("ProblemOut", what) for code, what in (
        ("400", "bad cursor or limit"), ("401", "missing or wrong bearer token"),
        ("429", "throttled (injected); Retry-After"), ("500", "injected"),
        ("503", "injected"))}
    return {
        "/api/national/leads": {"get": {
            "operationId": "leads", "security": [{"bearer": []}], "parameters": page,
            "summary": "国家互联网+监管系统: complaints, tip-offs and risk leads, oldest first",
            "responses": {"200": _json("LeadPage", "a page of leads"), **errors}}},
        "/api/national/joint-tasks": {"get": {
            "operationId": "joint_tasks", "security": [{"bearer": []}], "parameters": page,
            "summary": "国家互联网+监管系统: joint-supervision task messages, oldest first",
            "responses": {"200": _json("TaskPage", "a page of tasks"), **errors}}},
        "/_feeds": {"get": {"operationId": "feeds", "summary": "Feed counts (no auth)",
                            "responses": {"200": _json("FeedStatus", "counts")}}},
        "/_feeds/publish": {"post": {
            "operationId": "publish", "summary": "Make more leads/tasks visible now (no auth)",
            "requestBody": {"content": {"application/json": {"schema": {
                "type": "object", "properties": {"leads": {"type": "integer", "minimum": 0},
                                                 "tasks": {"type": "integer", "minimum": 0}}}}}},
            "responses": {"200": _json("FeedStatus", "counts now")}}},
    }


def build_openapi(shapes: dict[str, dict[str, ResourceShape]],
                  extra_paths: dict[str, Any] | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document served at ``GET /openapi.json``."""
    _, components = models_json_schema(
        [(m, "serialization") for m in (BatchOut, LedgerOut, ProblemOut, LeadPage, TaskPage,
                                         FeedStatus)], ref_template=_REF)
    schemas = dict(components.get("$defs", {}))
    batch = BATCH_ADAPTER.json_schema(ref_template=_REF)
    schemas.update(batch.pop("$defs", {}))
    schemas["BatchIn"] = batch
    errors = {
        "400": _json("ProblemOut", "malformed body"),
        "401": _json("ProblemOut", "missing or wrong bearer token"),
        "404": _json("ProblemOut", "no such platform or resource"),
        "413": _json("ProblemOut", f"more than {MAX_BATCH} records"),
        "429": _json("ProblemOut", "throttled (injected); see the Retry-After header (seconds)"),
        "500": _json("ProblemOut", "server error (injected)"),
        "503": _json("ProblemOut", "unavailable (injected)"),
    }
    faults = "; ".join(f"{kind}: {what}" for kind, what in FAULT_KINDS.items())
    paths: dict[str, Any] = {}
    for platform in PLATFORMS:
        for resource in shapes[platform].values():
            name = f"{platform}.{resource.name}"
            schemas[name] = payload_schema(resource)
            body = {"allOf": [{"$ref": _REF.format(model="BatchIn")}, {"properties": {
                "records": {"items": {"properties": {
                    "payload": {"$ref": _REF.format(model=name)}}}}}}]}
            paths[f"/api/{platform}/{resource.name}"] = {"post": {
                "operationId": f"send_{platform}_{resource.name}",
                "summary": f"{PLATFORM_NAMES[platform]}: {resource.zh or resource.name}",
                "description": "Receive a batch of record versions; each is accepted "
                               "(receipt), a duplicate of an accepted key, or rejected with "
                               f"reasons. Injected faults: {faults}.",
                "security": [{"bearer": []}],
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": body}}},
                "responses": {"200": _json("BatchOut", "one result per record, in order"),
                              **errors}}}
    paths["/_ledger/{platform}"] = {"get": {
        "operationId": "ledger", "summary": "What a platform has accepted (no auth)",
        "parameters": [
            {"name": "platform", "in": "path", "required": True,
             "schema": {"type": "string", "enum": list(PLATFORMS)}},
            {"name": "record_id", "in": "query", "schema": {"type": "string"}},
            {"name": "payloads", "in": "query", "schema": {"type": "integer", "enum": [0, 1]}},
            {"name": "records", "in": "query", "schema": {"type": "integer", "enum": [0, 1]},
             "description": "0: only the summary and counters"}],
        "responses": {"200": _json("LedgerOut", "the ledger"),
                      "404": _json("ProblemOut", "no such platform")}}}
    paths["/_health"] = {"get": {"operationId": "health", "summary": "Liveness (no auth)",
                                 "responses": {"200": {"description": "ok"}}}}
    paths["/openapi.json"] = {"get": {"operationId": "openapi", "summary": "This document",
                                      "responses": {"200": {"description": "OpenAPI 3.1"}}}}
    paths.update(extra_paths or {})
    return {"openapi": "3.1.0",
            "info": {"title": "Huiju platform simulator", "version": "1",
                     "description": "Local stand-in for 国家互联网+监管系统 (national), "
                                    "国家企业信用信息公示系统(甘肃) (gsxt) and 信用中国(甘肃) "
                                    "(creditchina)."},
            "paths": paths,
            "components": {"schemas": schemas, "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"}}}}
