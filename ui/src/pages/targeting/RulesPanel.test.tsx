import { afterEach, describe, expect, it, vi } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { FlagPage } from "../FlagPage";
import { flag, mockFetch, on, renderPage, type Call } from "../../test/helpers";
import type { FlagTargeting, Rule } from "../../api/types";

afterEach(() => vi.unstubAllGlobals());

const path = "/p/default/development/flags/new-checkout";
const route = "/p/:project/:env/flags/:flag";
const page = { items: [], next_cursor: "" };

const canada: Rule = { id: "canada", clauses: [{ attribute: "country", op: "in", values: ["CA"] }], variant: "on" };
const beta: Rule = { id: "beta", clauses: [{ op: "in_segment", values: ["beta-testers"] }], variant: "off" };

/** The flag page's requests, with targeting; extra responders come first. */
function flagPage(targeting: FlagTargeting, ...extra: Parameters<typeof mockFetch>) {
  return mockFetch(
    ...extra,
    on("GET", /\/targeting$/, 200, targeting),
    on("GET", /\/attributes$/, 200, { attributes: [{ name: "country", seen: "rules", examples: ["CA", "US"] }, { name: "appVersion", seen: "contexts" }] }),
    on("GET", /\/segments$/, 200, { segments: [{ key: "beta-testers", name: "Beta testers", description: "", included_count: 2, excluded_count: 0, rules: [], version: 1, updated_at: "" }] }),
    on("GET", /\/flags\?/, 200, { items: [flag(), flag({ key: "new-cart", name: "New cart" })], next_cursor: "" }),
    on("GET", /\/flags\/new-checkout$/, 200, flag()),
    on("GET", /\/experiments$/, 200, page),
    on("GET", /\/assignments/, 200, page),
  );
}

const put = (calls: Call[]) => calls.filter((c) => c.method === "PUT" && /\/targeting$/.test(c.url));
const rule = (n: number) => screen.getByRole("group", { name: `Rule ${n}` });

describe("rules on the flag page", () => {
  it("adds a rule with a typed number condition, reorders it first and saves the order with the state version", async () => {
    const calls = flagPage(
      { rules: [canada], prerequisites: [], version: 1 },
      (c) => (c.method === "PUT" ? { status: 200, body: { ...(c.body as object), version: 2 } } : undefined),
    );
    renderPage(<FlagPage />, { path, route, env: "development" });
    await screen.findByRole("group", { name: "Rule 1" });
    expect(within(rule(1)).getByLabelText("Attribute")).toHaveValue("country");

    await userEvent.click(screen.getByRole("button", { name: "+ Add rule" }));
    const r2 = rule(2);
    expect(within(r2).getByLabelText("Rule 2 id")).toHaveValue("rule-2");
    await userEvent.type(within(r2).getByLabelText("Attribute"), "age");
    await userEvent.selectOptions(within(r2).getByLabelText("Operator"), "gte");
    await userEvent.type(within(r2).getByLabelText("Add a value"), "18{Enter}");
    // A value that is not a number stays in the field with the reason, and is not sent.
    await userEvent.type(within(r2).getByLabelText("Add a value"), "eighteen{Enter}");
    expect(within(r2).getByRole("alert")).toHaveTextContent("“eighteen” is not a number");
    await userEvent.clear(within(r2).getByLabelText("Add a value"));

    await userEvent.click(screen.getByRole("button", { name: "Move rule 2 up" }));
    expect(within(rule(1)).getByLabelText("Rule 1 id")).toHaveValue("rule-2");
    expect(within(rule(2)).getByLabelText("Rule 2 id")).toHaveValue("canada");
    // Focus stays with the moved rule (now first: its "up" is disabled, so "down").
    await waitFor(() => expect(screen.getByRole("button", { name: "Move rule 1 down" })).toHaveFocus());

    await userEvent.click(screen.getByRole("button", { name: "Save rules" }));
    await waitFor(() => expect(put(calls)).toHaveLength(1));
    expect(put(calls)[0].body).toEqual({
      rules: [{ id: "rule-2", clauses: [{ attribute: "age", op: "gte", values: [18] }], variant: "on" }, canada],
      prerequisites: [],
      version: 1,
    });
    expect(await screen.findByText("Rules saved in Development")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Save rules" })).toBeDisabled();
  });

  it("suggests the environment's attributes from /attributes, with where they were seen and examples, for the attribute and its values", async () => {
    const calls = flagPage({ rules: [canada], prerequisites: [], version: 1 });
    renderPage(<FlagPage />, { path, route, env: "development" });
    await screen.findByRole("group", { name: "Rule 1" });
    /** The suggestions an input offers: its datalist's options as [value, text]. */
    const suggestions = async (input: HTMLElement) => {
      await waitFor(() => expect(input).toHaveAttribute("list"));
      const list = document.getElementById(input.getAttribute("list")!)!;
      expect(list.tagName).toBe("DATALIST");
      return within(list)
        .getAllByRole("option", { hidden: true })
        .map((o) => [(o as HTMLOptionElement).value, o.textContent]);
    };
    await waitFor(() => expect(calls.some((c) => /\/environments\/development\/attributes$/.test(c.url))).toBe(true));
    const attribute = within(rule(1)).getByLabelText("Attribute");
    await waitFor(async () =>
      expect(await suggestions(attribute)).toEqual([
        ["targetingKey", "the user id"],
        ["country", "rules: CA, US"],
        ["appVersion", "contexts"],
      ]),
    );
    // The rule's attribute is country: its value field suggests country's examples.
    expect(await suggestions(within(rule(1)).getByLabelText("Add a value"))).toEqual([
      ["CA", ""],
      ["US", ""],
    ]);
  });

  it("types values by operator: numbers for in with the number type, versions checked, segments chosen from the list, rollout bucketed by an attribute", async () => {
    const calls = flagPage({ rules: [], prerequisites: [], version: 3 }, (c) => (c.method === "PUT" ? { status: 200, body: { ...(c.body as object), version: 4 } } : undefined));
    renderPage(<FlagPage />, { path, route, env: "development" });
    await userEvent.click(await screen.findByRole("button", { name: "+ Add rule" }));
    const r = rule(1);
    await userEvent.type(within(r).getByLabelText("Attribute"), "plan");
    await userEvent.selectOptions(within(r).getByLabelText("Value type"), "number");
    await userEvent.type(within(r).getByLabelText("Add a value"), "1{Enter}2.5{Enter}");

    await userEvent.click(within(r).getByRole("button", { name: "+ Add condition" }));
    const c2 = within(r).getByRole("group", { name: "Condition 2" });
    await userEvent.type(within(c2).getByLabelText("Attribute"), "appVersion");
    await userEvent.selectOptions(within(c2).getByLabelText("Operator"), "semver_gte");
    await userEvent.type(within(c2).getByLabelText("Add a value"), "v17{Enter}");
    expect(within(c2).getByRole("alert")).toHaveTextContent("is not a semantic version");
    await userEvent.clear(within(c2).getByLabelText("Add a value"));
    await userEvent.type(within(c2).getByLabelText("Add a value"), "17.2.0-beta.1{Enter}");

    await userEvent.click(within(r).getByRole("button", { name: "+ Add condition" }));
    const c3 = within(r).getByRole("group", { name: "Condition 3" });
    await userEvent.selectOptions(within(c3).getByLabelText("Operator"), "in_segment");
    expect(within(c3).queryByLabelText("Attribute")).not.toBeInTheDocument();
    await userEvent.selectOptions(within(c3).getByLabelText("Add a segment"), "beta-testers");
    await userEvent.click(within(c3).getByRole("checkbox", { name: "not" }));

    await userEvent.click(within(r).getByRole("button", { name: "A percentage rollout" }));
    await userEvent.type(within(r).getByLabelText("Bucket by attribute"), "companyId");
    await userEvent.click(within(r).getByRole("button", { name: "All On" }));

    await userEvent.click(screen.getByRole("button", { name: "Save rules" }));
    await waitFor(() => expect(put(calls)).toHaveLength(1));
    expect(put(calls)[0].body).toEqual({
      rules: [
        {
          id: "rule-1",
          clauses: [
            { attribute: "plan", op: "in", values: [1, 2.5] },
            { attribute: "appVersion", op: "semver_gte", values: ["17.2.0-beta.1"] },
            { op: "in_segment", values: ["beta-testers"], negate: true },
          ],
          rollout: [
            { variant: "off", weight: 0 },
            { variant: "on", weight: 10000 },
          ],
          bucketBy: "companyId",
        },
      ],
      prerequisites: [],
      version: 3,
    });
  });

  it("puts the server's error on the offending rule and clause, and focuses its values", async () => {
    flagPage(
      { rules: [canada, { id: "ios", clauses: [{ attribute: "os", op: "in", values: ["iOS"] }, { attribute: "osVersion", op: "semver_gte", values: ["17.2"] }], variant: "on" }], prerequisites: [], version: 1 },
      on("PUT", /\/targeting$/, 422, { error: { code: "invalid", message: 'rule "ios": values[0]: "17.2" is not a semantic version', field: "rules[1].clauses[1].values" } }),
    );
    renderPage(<FlagPage />, { path, route, env: "development" });
    await screen.findByRole("group", { name: "Rule 2" });
    await userEvent.click(within(within(rule(2)).getByRole("group", { name: "Condition 1" })).getByRole("checkbox", { name: "not" }));
    await userEvent.click(screen.getByRole("button", { name: "Save rules" }));
    const clause = within(rule(2)).getByRole("group", { name: "Condition 2" });
    expect(await within(clause).findByRole("alert")).toHaveTextContent('values[0]: "17.2" is not a semantic version');
    expect(within(clause).getByLabelText("Add a value")).toHaveAttribute("aria-invalid", "true");
    await waitFor(() => expect(within(clause).getByLabelText("Add a value")).toHaveFocus());
    expect(within(rule(1)).queryByRole("alert")).not.toBeInTheDocument();
    expect(within(within(rule(2)).getByRole("group", { name: "Condition 1" })).queryByRole("alert")).not.toBeInTheDocument();
    // Not repeated in a banner above.
    expect(screen.queryByText("Please check your input")).not.toBeInTheDocument();
  });

  it("a rule-level error (unknown variant) is shown on its rule", async () => {
    flagPage(
      { rules: [canada, beta], prerequisites: [], version: 1 },
      on("PUT", /\/targeting$/, 422, { error: { code: "invalid", message: 'rule "beta": unknown variant "gone"', field: "rules[1].variant" } }),
    );
    renderPage(<FlagPage />, { path, route, env: "development" });
    await screen.findByRole("group", { name: "Rule 2" });
    await userEvent.click(screen.getByRole("button", { name: "Remove rule 1" }));
    await userEvent.click(screen.getByRole("button", { name: "+ Add rule" }));
    await userEvent.click(screen.getByRole("button", { name: "Save rules" }));
    expect(await within(rule(2)).findByRole("alert")).toHaveTextContent('unknown variant "gone"');
    expect(within(rule(2)).getByLabelText("Serve variant")).toHaveAttribute("aria-invalid", "true");
  });

  it("saves prerequisites: a flag and its allowed variants", async () => {
    const calls = flagPage({ rules: [], prerequisites: [], version: 1 }, (c) => (c.method === "PUT" ? { status: 200, body: { ...(c.body as object), version: 2 } } : undefined));
    renderPage(<FlagPage />, { path, route, env: "development" });
    await userEvent.click(await screen.findByRole("button", { name: "+ Add prerequisite" }));
    const row = screen.getByRole("group", { name: "Prerequisite 1" });
    const select = within(row).getByLabelText("Prerequisite flag");
    expect(within(select).queryByRole("option", { name: /new-checkout/ })).not.toBeInTheDocument();
    await userEvent.selectOptions(select, "new-cart");
    expect(within(row).getByRole("checkbox", { name: "On" })).toBeChecked();
    await userEvent.click(within(row).getByRole("checkbox", { name: "Off" }));
    await userEvent.click(screen.getByRole("button", { name: "Save rules" }));
    await waitFor(() => expect(put(calls)).toHaveLength(1));
    expect(put(calls)[0].body).toEqual({ rules: [], prerequisites: [{ flag: "new-cart", variants: ["on", "off"] }], version: 1 });
  });

  it("a 409 keeps the edits and offers to save them over the other change with its version", async () => {
    let n = 0;
    const calls = flagPage({ rules: [], prerequisites: [], version: 1 }, (c) =>
      c.method === "PUT"
        ? ++n === 1
          ? { status: 409, body: { error: { code: "version_conflict", message: "changed", current: { version: 7 } } } }
          : { status: 200, body: { ...(c.body as object), version: 8 } }
        : undefined,
    );
    renderPage(<FlagPage />, { path, route, env: "development" });
    await userEvent.click(await screen.findByRole("button", { name: "+ Add rule" }));
    await userEvent.type(within(rule(1)).getByLabelText("Attribute"), "country");
    await userEvent.click(screen.getByRole("button", { name: "Save rules" }));
    await userEvent.click(await screen.findByRole("button", { name: "Save mine over theirs" }));
    await waitFor(() => expect(put(calls)).toHaveLength(2));
    expect((put(calls)[1].body as { version: number }).version).toBe(7);
    expect(await screen.findByText("Rules saved in Development")).toBeInTheDocument();
  });
});

describe("test a context", () => {
  it("shows value, variant, reason and the matched rule, highlighted in the rule list", async () => {
    const calls = flagPage(
      { rules: [canada, beta], prerequisites: [], version: 1 },
      on("POST", /\/environments\/development\/evaluate$/, 200, { flag: "new-checkout", value: false, variant: "off", reason: "TARGETING_MATCH", rule_id: "beta", flag_version: 4, revision: 12 }),
    );
    renderPage(<FlagPage />, { path, route, env: "development" });
    const box = await screen.findByLabelText("Context (JSON)");
    await userEvent.clear(box);
    await userEvent.type(box, '{{"targetingKey": "user-1", "plan": "pro"}');
    await userEvent.click(screen.getByRole("button", { name: "Evaluate" }));
    const dl = await screen.findByLabelText("Evaluation result");
    expect(dl).toHaveTextContent("Valuefalse");
    expect(dl).toHaveTextContent("VariantOff (off)");
    expect(dl).toHaveTextContent("TARGETING_MATCH");
    expect(dl).toHaveTextContent("Matched rulebeta");
    const post = calls.find((c) => c.method === "POST")!;
    expect(post.body).toEqual({ flag: "new-checkout", context: { targetingKey: "user-1", plan: "pro" } });
    expect(rule(2).closest("li")).toHaveClass("rule-matched");
    expect(within(rule(2)).getByText("Matched the test context")).toBeInTheDocument();
    expect(rule(1).closest("li")).not.toHaveClass("rule-matched");
  });

  it("refuses a context that is not a JSON object, on the field, without asking the server", async () => {
    const calls = flagPage({ rules: [], prerequisites: [], version: 1 });
    renderPage(<FlagPage />, { path, route, env: "development" });
    const box = await screen.findByLabelText("Context (JSON)");
    await userEvent.clear(box);
    await userEvent.type(box, "[[1, 2]");
    await userEvent.click(screen.getByRole("button", { name: "Evaluate" }));
    expect(await screen.findByText(/must be a JSON object/)).toBeInTheDocument();
    expect(box).toHaveAttribute("aria-invalid", "true");
    expect(calls.some((c) => c.method === "POST")).toBe(false);
  });
});
