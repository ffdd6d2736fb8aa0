import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { describe as describeErr, describeAll, fieldError } from "./errors";

describe("fieldError", () => {
  const err = new ApiError(422, "invalid", "must match ^[a-z0-9]…", "key");
  it("matches the exact field only", () => {
    expect(fieldError(err, "key")).toBe("must match ^[a-z0-9]…");
    expect(fieldError(err, "name")).toBeUndefined();
    expect(fieldError(new Error("x"), "key")).toBeUndefined();
    expect(fieldError(undefined, "key")).toBeUndefined();
  });
  it("matches elements of a list field with prefix", () => {
    const tagErr = new ApiError(422, "invalid", "bad tag", "tags[1]");
    expect(fieldError(tagErr, "tags")).toBeUndefined();
    expect(fieldError(tagErr, "tags", { prefix: true })).toBe("bad tag");
    expect(fieldError(tagErr, "tag", { prefix: true })).toBeUndefined();
    const vErr = new ApiError(422, "invalid", "must be a number value", "variants[1].value");
    expect(fieldError(vErr, "variants[1].value")).toBe("must be a number value");
    expect(fieldError(vErr, "variants[0].value")).toBeUndefined();
  });
  it("describes errors with a field label", () => {
    expect(describeErr(new ApiError(422, "invalid", "is required", "name"), { name: "Name" })).toBe("Name: is required");
    expect(describeErr(new ApiError(422, "invalid", "must be valid JSON", "variants[2].value"), { variants: "Variants" })).toBe("Variants #3 value: must be valid JSON");
    expect(describeErr(new ApiError(404, "not_found", 'flag "x" not found'))).toBe('flag "x" not found');
  });
});

describe("every invalid field at once", () => {
  const err = new ApiError(422, "invalid", "is required", "key", undefined, [
    { field: "key", message: "is required" },
    { field: "flag", message: "is required" },
    { field: "primary_metrics", message: "is required: choose at least one primary metric" },
  ]);
  it("gives each form field its own message", () => {
    expect(fieldError(err, "key")).toBe("is required");
    expect(fieldError(err, "flag")).toBe("is required");
    expect(fieldError(err, "primary_metrics")).toBe("is required: choose at least one primary metric");
    expect(fieldError(err, "name")).toBeUndefined();
  });
  it("lists them all in the banner", () => {
    expect(describeAll(err, { key: "Key", flag: "Flag" })).toBe("Key: is required · Flag: is required · primary metrics: is required: choose at least one primary metric");
  });
});
