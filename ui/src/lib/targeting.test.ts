import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { OPERATORS, coerceValues, parseValue, placeError } from "./targeting";

const err = (field: string, message = "bad") => new ApiError(422, "invalid", message, field);

describe("operators", () => {
  it("lists every operator of docs/evaluation.md once", () => {
    expect(OPERATORS.map((o) => o.op).sort()).toEqual(
      ["in", "equals", "contains", "starts_with", "ends_with", "matches", "lt", "lte", "gt", "gte", "semver_eq", "semver_lt", "semver_lte", "semver_gt", "semver_gte", "before", "after", "in_segment", "exists"].sort(),
    );
  });
});

describe("parseValue", () => {
  it("reads each kind as its JSON type or says why not", () => {
    expect(parseValue(" 42 ", "number")).toEqual({ value: 42 });
    expect(parseValue("4x", "number")).toHaveProperty("error");
    expect(parseValue("true", "scalar", "boolean")).toEqual({ value: true });
    expect(parseValue(" CA ", "scalar", "string")).toEqual({ value: " CA " });
    expect(parseValue("1.0.0-alpha.1", "semver")).toEqual({ value: "1.0.0-alpha.1" });
    expect(parseValue("17.2", "semver")).toEqual({ value: "17.2" });
    for (const bad of ["v17", "01.2", "1.2.3.4", "1.0.0-"]) expect(parseValue(bad, "semver")).toHaveProperty("error");
    expect(parseValue("2024-02-29T00:00:00Z", "date")).toEqual({ value: "2024-02-29T00:00:00Z" });
    expect(parseValue("2023-02-29T00:00:00Z", "date")).toHaveProperty("error");
    expect(parseValue("2023-03-01T10:00:00.123+02:00", "date")).toEqual({ value: "2023-03-01T10:00:00.123+02:00" });
    expect(parseValue("1700000000", "date")).toEqual({ value: 1700000000 });
    expect(parseValue("(", "regex")).toHaveProperty("error");
  });

  it("keeps the values that read as the new type when the operator changes", () => {
    expect(coerceValues(["17", "x", "2.5"], "number")).toEqual([17, 2.5]);
    expect(coerceValues(["a"], "none")).toEqual([]);
  });
});

describe("placeError", () => {
  it("places rule, clause and part", () => {
    expect(placeError(err("rules[1].clauses[0].values"), "rules")).toEqual({ rule: 1, clause: 0, part: "values", message: "bad" });
    expect(placeError(err("rules[2].clauses[3]", 'rule "x": values[0]: "v1" is not a semantic version'), "rules")).toEqual({
      rule: 2,
      clause: 3,
      part: "values",
      message: 'values[0]: "v1" is not a semantic version',
    });
    expect(placeError(err("rules[0].rollout[1].weight"), "rules")).toEqual({ rule: 0, part: "rollout", message: "bad" });
    expect(placeError(err("rules"), "rules")).toEqual({ message: "bad" });
    expect(placeError(err("rulesets"), "rules")).toBeUndefined();
    expect(placeError(err("prerequisites[0].flag"), "rules")).toBeUndefined();
    expect(placeError(err("experiment.audience[1].op"), "audience", true)).toEqual({ clause: 1, part: "op", message: "bad" });
  });
});
