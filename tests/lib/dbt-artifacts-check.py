#!/usr/bin/env python3
"""Validate dbt artifacts against dbt's published JSON schemas.

usage: dbt-artifacts-check.py SCHEMA FILE

Exit 0 when FILE validates against SCHEMA (draft 2020-12, python3's
jsonschema), else 1 with every error printed as JSON-pointer: message.
The manifest's nodes are an anyOf of resource kinds, where jsonschema's
message only says "not valid under any of the given schemas"; for those,
the node is validated again against the kind its resource_type (and, for
tests, test_metadata) names, so the message says which key is wrong.
"""
import json
import sys

import jsonschema


def kind_of(node):
    rt = node.get("resource_type")
    if rt == "test":
        return "GenericTest" if "test_metadata" in node else "SingularTest"
    return {"model": "Model", "seed": "Seed", "snapshot": "Snapshot",
            "analysis": "Analysis", "operation": "HookNode",
            "sql_operation": "SqlOperation", "function": "Function"}.get(rt)


def explain(schema, err, doc):
    """Errors of a node under the anyOf branch its kind names."""
    path = list(err.absolute_path)
    if len(path) != 2 or path[0] not in ("nodes",):
        return []
    node = doc[path[0]][path[1]]
    kind = kind_of(node)
    branches = schema["properties"]["nodes"]["additionalProperties"]["anyOf"]
    for b in branches:
        if b.get("title") == kind:
            v = jsonschema.Draft202012Validator(b)
            return ["/%s/%s%s: %s" % (path[0], path[1],
                    "".join("/" + str(p) for p in e.absolute_path), e.message)
                    for e in v.iter_errors(node)]
    return ["/%s/%s: unknown resource_type %r" % (path[0], path[1],
            node.get("resource_type"))]


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    with open(sys.argv[1]) as f:
        schema = json.load(f)
    with open(sys.argv[2]) as f:
        doc = json.load(f)
    v = jsonschema.Draft202012Validator(schema)
    errors = sorted(v.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    for e in errors:
        where = "".join("/" + str(p) for p in e.absolute_path) or "/"
        detail = explain(schema, e, doc)
        if detail:
            for d in detail:
                print(d)
        else:
            print("%s: %s" % (where, e.message[:300]))
    if errors:
        print("%s: %d schema error(s) against %s" % (sys.argv[2], len(errors),
              schema.get("$id", sys.argv[1])))
        return 1
    print("%s: valid against %s" % (sys.argv[2], schema.get("$id")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
