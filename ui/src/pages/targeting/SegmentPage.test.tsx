import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes } from "react-router";
import { SegmentPage } from "./SegmentPage";
import { SegmentsPage } from "./SegmentsPage";
import { mockFetch, on, renderPage } from "../../test/helpers";
import type { Segment } from "../../api/types";

afterEach(() => vi.unstubAllGlobals());

const seg = (over: Partial<Segment> = {}): Segment => ({
  key: "beta-testers",
  name: "Beta testers",
  description: "",
  included: ["user-1", "user-2"],
  excluded: [],
  rules: [],
  version: 3,
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
  ...over,
});

const attrs = on("GET", /\/attributes$/, 200, { attributes: [] });

describe("segment pages", () => {
  it("lists the environment's segments with their list sizes", async () => {
    mockFetch(
      on("GET", /\/environments\/development\/segments$/, 200, {
        segments: [{ key: "beta-testers", name: "Beta testers", description: "early access", included_count: 100000, excluded_count: 3, rules: [{ id: "staff", clauses: [] }], version: 1, updated_at: "" }],
      }),
    );
    renderPage(<SegmentsPage />, { path: "/p/default/development/segments", env: "development" });
    const row = (await screen.findByRole("link", { name: "Beta testers" })).closest("tr")!;
    expect(within(row).getAllByRole("cell").map((c) => c.textContent)).toEqual(["Beta testers beta-testersearly access", (100000).toLocaleString(), "3", "1", "never"]);
  });

  it("creates a segment from a name, pasted ids, ids from a file and a rule", async () => {
    const calls = mockFetch(attrs, (c) => (c.method === "POST" ? { status: 201, body: seg({ ...(c.body as object) }) } : undefined));
    renderPage(
      <Routes>
        <Route path="/p/:project/:env/segments/new" element={<SegmentPage />} />
        <Route path="/p/:project/:env/segments/:segment" element={<p>saved page</p>} />
      </Routes>,
      { path: "/p/default/development/segments/new", env: "development" },
    );
    await userEvent.type(await screen.findByLabelText("Name"), "Beta testers");
    expect(screen.getByLabelText("Key")).toHaveValue("beta-testers");
    const included = screen.getByLabelText("Included ids");
    fireEvent.change(included, { target: { value: "user-1\nuser-2, user-1" } });
    // 100,000 ids from a file are appended to what was pasted.
    const ids = Array.from({ length: 100000 }, (_, i) => `u${i}`);
    const file = new File([ids.join("\n")], "ids.txt", { type: "text/plain" });
    await userEvent.upload(screen.getByLabelText("Add included ids from a file"), file);
    expect(await screen.findByText(`${(100002).toLocaleString()} distinct ids`)).toBeInTheDocument();
    fireEvent.change(screen.getByLabelText("Excluded ids"), { target: { value: "u7" } });
    await userEvent.click(screen.getByRole("button", { name: "+ Add rule" }));
    await userEvent.type(screen.getByLabelText("Attribute"), "email");
    await userEvent.selectOptions(screen.getByLabelText("Operator"), "ends_with");
    expect(within(screen.getByLabelText("Operator")).queryByRole("option", { name: /in_segment/ })).not.toBeInTheDocument();
    await userEvent.type(screen.getByLabelText("Add a value"), "@waypost.dev{Enter}");
    expect(screen.queryByRole("group", { name: "Serve" })).not.toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Create segment" }));
    expect(await screen.findByText("saved page")).toBeInTheDocument();
    const post = calls.find((c) => c.method === "POST")!;
    const body = post.body as { key: string; name: string; included: string[]; excluded: string[]; rules: unknown };
    expect(post.url).toMatch(/\/projects\/default\/environments\/development\/segments$/);
    expect(body.key).toBe("beta-testers");
    expect(body.name).toBe("Beta testers");
    expect(body.included.length).toBe(100002);
    expect(body.included.slice(0, 3)).toEqual(["user-1", "user-2", "u0"]);
    expect(body.excluded).toEqual(["u7"]);
    expect(body.rules).toEqual([{ id: "rule-1", clauses: [{ attribute: "email", op: "ends_with", values: ["@waypost.dev"] }] }]);
  });

  it("names the offending id of a refused list, and saves with the version", async () => {
    const calls = mockFetch(
      attrs,
      on("GET", /\/segments\/beta-testers$/, 200, seg()),
      on("PUT", /\/segments\/beta-testers$/, 422, { error: { code: "invalid", message: "at most 256 bytes", field: "included[2]" } }),
    );
    renderPage(<SegmentPage />, { path: "/p/default/development/segments/beta-testers", route: "/p/:project/:env/segments/:segment", env: "development" });
    const included = await screen.findByLabelText("Included ids");
    expect(included).toHaveValue("user-1\nuser-2");
    fireEvent.change(included, { target: { value: "user-1\nuser-2\n" + "x".repeat(300) } });
    await userEvent.click(screen.getByRole("button", { name: "Save segment" }));
    expect(await screen.findByText(`${"x".repeat(300)}: at most 256 bytes`)).toBeInTheDocument();
    expect(screen.getByLabelText("Included ids")).toHaveAttribute("aria-invalid", "true");
    expect((calls.find((c) => c.method === "PUT")!.body as { version: number }).version).toBe(3);
  });

  it("a segment still in use cannot be deleted: the 409 message names the flag", async () => {
    mockFetch(
      attrs,
      on("GET", /\/segments\/beta-testers$/, 200, seg()),
      on("DELETE", /\/segments\/beta-testers$/, 409, { error: { code: "in_use", message: 'segment "beta-testers" is used by flag "new-checkout" (rule "beta")' } }),
    );
    renderPage(<SegmentPage />, { path: "/p/default/development/segments/beta-testers", route: "/p/:project/:env/segments/:segment", env: "development" });
    await userEvent.click(await screen.findByRole("button", { name: "Delete segment" }));
    const dialog = screen.getByRole("dialog");
    await userEvent.click(within(dialog).getByRole("button", { name: "Delete segment" }));
    await waitFor(() => expect(within(dialog).getByRole("alert")).toHaveTextContent('segment "beta-testers" is used by flag "new-checkout" (rule "beta")'));
    expect(within(dialog).getByRole("alert")).toHaveTextContent("Conflict");
  });
});
