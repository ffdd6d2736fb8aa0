// @waypost/node TestData: flags set in a test, served to a real client
// without a provider; later changes reach it and its change listeners.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TestData } from "@waypost/node";
import { waitFor } from "./helpers.mjs";

test("TestData serves and updates flags", async (t) => {
  const td = new TestData().set("checkout", true).set("color", "blue").setForUser("color", "vip", "gold").set("limit", 3).set("banner", { title: "Hi" });
  const c = td.client({ logger: { warn() {}, error() {} } });
  t.after(() => c.close());
  await c.ready();
  assert.equal(c.getBoolean("checkout", "anyone", false), true);
  assert.equal(c.getString("color", "u1", "none"), "blue");
  const vip = c.getStringDetail("color", "vip", "none");
  assert.equal(vip.value, "gold");
  assert.equal(vip.reason, "TARGETING_MATCH");
  assert.equal(c.getInteger("limit", "u1", 0), 3);
  assert.equal(c.getString("missing", "u1", "default"), "default");

  const changes = [];
  c.on("change", (e) => changes.push(e.keys));
  td.set("checkout", false);
  await waitFor(() => c.getBoolean("checkout", "anyone", true) === false, { message: "change delivered" });
  assert.deepEqual(changes.at(-1), ["checkout"]);
  td.disable("color").remove("limit");
  await waitFor(() => c.getInteger("limit", "u1", -1) === -1);
  assert.equal(c.getStringDetail("color", "vip", "none").reason, "DISABLED");
  assert.throws(() => td.set("bad", [1, 2]), /json flags hold objects/);
});
