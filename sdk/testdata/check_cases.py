#!/usr/bin/python3
"""Independent check of evaluation-cases.json.

Re-implements the Waypost evaluation order (docs/evaluation.md) in pure
Python, using the MurmurHash3 port from check_buckets.py, and verifies every
case in evaluation-cases.json. The Go generator produced the expected
values; this script shows that a second implementation written from the
document agrees with them.

Run: /usr/bin/python3 sdk/testdata/check_cases.py
"""

import json
import os
import sys

from check_buckets import bucket


def same(a, b):
    """JSON equality that keeps booleans apart from numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def split(flag, uid):
    b = bucket(flag["salt"], uid)
    total = 0
    for w in flag["rollout"]:
        total += w["weight"]
        if total > b:
            return w["variant"]
    raise AssertionError("weights do not sum to 10000")


def evaluate(flags, key, uid):
    """Returns (variant, reason, errorCode, experimentKey)."""
    flag = flags.get(key)
    if flag is None:
        return "", "ERROR", "FLAG_NOT_FOUND", ""
    if not flag["enabled"]:
        return flag["offVariant"], "DISABLED", "", ""
    assignments = flag.get("assignments") or {}
    if uid and uid in assignments:
        return assignments[uid], "TARGETING_MATCH", "", ""
    exp = flag.get("experiment")
    if exp is not None:
        if not uid or bucket(flag["salt"] + "." + exp["key"], uid) >= exp["traffic"]:
            return flag["offVariant"], "DEFAULT", "", ""
        return split(flag, uid), "SPLIT", "", exp["key"]
    for w in flag["rollout"]:
        if w["weight"] == 10000:
            return w["variant"], "STATIC", "", ""
    if not uid:
        return flag["offVariant"], "DEFAULT", "", ""
    return split(flag, uid), "SPLIT", "", ""


def type_ok(typ, kind, value):
    if typ == "integer":
        if kind != "number":
            return False
        return isinstance(value, int) or float(value).is_integer()
    return {"boolean": "boolean", "string": "string", "number": "number", "json": "json"}[typ] == kind


def run(case, flagsets):
    flags = {f["key"]: f for f in flagsets[case["flagSet"]]["flags"]}
    variant, reason, code, exp_key = evaluate(flags, case["flag"], case["targetingKey"])
    if code:
        return {"value": case["default"], "variant": "", "reason": reason, "errorCode": code, "experimentKey": ""}
    flag = flags[case["flag"]]
    value = next(v["value"] for v in flag["variants"] if v["key"] == variant)
    if not type_ok(case["type"], flag["kind"], value):
        return {"value": case["default"], "variant": "", "reason": "ERROR", "errorCode": "TYPE_MISMATCH", "experimentKey": ""}
    if case["type"] == "integer":
        value = int(value)
    return {"value": value, "variant": variant, "reason": reason, "errorCode": "", "experimentKey": exp_key}


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "evaluation-cases.json"), encoding="utf-8") as f:
        doc = json.load(f)
    failures = 0
    # Targeting (context attributes, rules, segments, prerequisites) is
    # checked by the Node SDK and the Go/Node cross-check, not here.
    cases = [c for c in doc["cases"] if c["flagSet"] != "targeting"]
    for case in cases:
        got = run(case, doc["flagSets"])
        want = {k: v for k, v in case["expected"].items() if k != "ruleId"}
        if got.keys() != want.keys() or not all(same(got[k], want[k]) for k in want):
            failures += 1
            print(f"FAIL {case['name']}: got {got}, want {want}")
    print(f"{len(cases) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
