"""IAM actions: what a principal's policies let it do, or what given policy documents allow, asked of the
IAM policy simulator.

`aws.iam.simulate_principal_policy` makes the same call, and is read-only too (`runner.operation_kinds`:
the simulator only evaluates policies); `iam.simulate` flattens the answer into what a check asserts on:
one decision per action and resource, and the lists of allowed and denied actions. Given documents
instead of a principal (SimulateCustomPolicy), it judges a policy that no longer exists, as event history
recorded it: evidence once a student has cleaned up.
"""

from __future__ import annotations

import json
from typing import Any

from runner.actions.declare import ActionContext, action
from runner.actions.failures import aws_errors

_STRINGS = {"type": "array", "items": {"type": "string"}, "minItems": 1}


@action(
    "iam.simulate",
    read_only=True,  # the simulator evaluates policies; it changes nothing in the account
    permissions=("iam:SimulatePrincipalPolicy", "iam:SimulateCustomPolicy"),
    params={
        "type": "object",
        "required": ["actions"],
        "oneOf": [{"required": ["principal_arn"]}, {"required": ["policies"]}],
        "properties": {
            "principal_arn": {"type": "string", "description": "ARN of the user, group or role whose policies count."},
            "policies": {
                "type": "array",
                "minItems": 1,
                "items": {"type": ["string", "object"]},
                "description": "Instead of a principal: identity-based policy documents (JSON text or mappings), "
                               "simulated as if one principal held them all.",
            },
            "actions": {**_STRINGS, "description": "Actions to simulate, such as s3:GetObject."},
            "resources": {**_STRINGS, "description": "Resource ARNs to simulate them on; default every resource (*)."},
            "context": {
                "type": "object",
                "description": "Condition keys and their values (a string, or a list for a multi-valued key).",
                "additionalProperties": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
            },
        },
    },
)
def simulate(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """Ask the IAM policy simulator which actions a user, group or role, or given policies, allow on which resources.

    The result is `{Results: [{action, resource, decision}], allowed: [...], denied: [...]}`, where
    `decision` is the simulator's `allowed`, `explicitDeny` or `implicitDeny`, `allowed` lists the
    actions allowed on every resource asked about, and `denied` those denied on at least one.

    Example::

        action: iam.simulate
        params:
          principal_arn: "arn:aws:iam::{{ caller.account }}:user/lab-student"
          actions: [s3:GetObject, s3:DeleteObject]
          resources: ["arn:aws:s3:::lab-reading-example/notes.txt"]
        expect:
          - path: allowed
            contains: s3:GetObject
          - path: denied
            contains: s3:DeleteObject
    """
    request: dict[str, Any] = {"ActionNames": list(params["actions"])}
    if "policies" in params:
        operation = "simulate_custom_policy"
        request["PolicyInputList"] = [p if isinstance(p, str) else json.dumps(p) for p in params["policies"]]
    else:
        operation = "simulate_principal_policy"
        request["PolicySourceArn"] = params["principal_arn"]
    if params.get("resources"):
        request["ResourceArns"] = list(params["resources"])
    if params.get("context"):
        request["ContextEntries"] = [
            {"ContextKeyName": key, "ContextKeyValues": value if isinstance(value, list) else [value],
             "ContextKeyType": "stringList" if isinstance(value, list) else "string"}
            for key, value in params["context"].items()
        ]
    client = ctx.client("iam")
    with aws_errors():
        pages = client.get_paginator(operation).paginate(**request)
        evaluations = [e for page in pages for e in page.get("EvaluationResults", [])]
    results = _decisions(evaluations)
    actions = list(dict.fromkeys(r["action"] for r in results))
    denied = [a for a in actions if any(r["decision"] != "allowed" for r in results if r["action"] == a)]
    return {"Results": results, "allowed": [a for a in actions if a not in denied], "denied": denied}


def _decisions(evaluations: list[dict[str, Any]]) -> list[dict[str, str]]:
    """One `{action, resource, decision}` per action and resource.

    AWS now answers one result per action with the per-resource decisions in `ResourceSpecificResults`
    (the top-level one is the most restrictive); it used to answer one result per resource. Both
    shapes give the same rows.
    """
    rows: list[dict[str, str]] = []
    for evaluation in evaluations:
        name = str(evaluation["EvalActionName"])
        specific = evaluation.get("ResourceSpecificResults") or []
        if specific:
            rows += [{"action": name, "resource": str(r["EvalResourceName"]),
                      "decision": str(r["EvalResourceDecision"])} for r in specific]
        else:
            rows.append({"action": name, "resource": str(evaluation.get("EvalResourceName", "*")),
                         "decision": str(evaluation["EvalDecision"])})
    return rows
