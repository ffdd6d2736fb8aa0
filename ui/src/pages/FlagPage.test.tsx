import { afterEach, describe, expect, it, vi } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { FlagPage } from "./FlagPage";
import { flag, mockFetch, on, renderPage } from "../test/helpers";

afterEach(() => vi.unstubAllGlobals());

const page = { items: [], next_cursor: "" };
const path = "/p/default/development/flags/new-checkout";
const route = "/p/:project/:env/flags/:flag";

describe("FlagPage", () => {
  it("a 409 on save shows that someone else changed it and reloads from error.current", async () => {
    const theirs = flag({ name: "Their name", version: 2, description: "theirs" });
    const calls = mockFetch(
      on("GET", /\/flags\/new-checkout$/, 200, flag()),
      on("GET", /\/experiments$/, 200, { items: [], next_cursor: "" }),
      on("GET", /\/assignments/, 200, page),
      on("PATCH", /\/flags\/new-checkout$/, 409, { error: { code: "version_conflict", message: "flag new-checkout was changed by someone else", current: theirs } }),
    );
    renderPage(<FlagPage />, { path, route, env: "development" });
    const name = await screen.findByLabelText("Name");
    await userEvent.clear(name);
    await userEvent.type(name, "My name");
    await userEvent.click(screen.getByRole("button", { name: "Save details" }));
    expect(await screen.findByText("Someone else changed this flag while you were editing.")).toBeInTheDocument();
    expect(screen.getByLabelText("Name")).toHaveValue("Their name");
    expect(screen.getByLabelText("Description")).toHaveValue("theirs");
    expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("Their name");
    const patch = calls.find((c) => c.method === "PATCH")!;
    expect(patch.body).toEqual({ version: 1, name: "My name" });
  });

  it("saves the rollout in basis points with the state version, and a state 409 reloads the state", async () => {
    const current = { ...flag().environments[1], rollout: [{ variant: "off", weight: 10000 }, { variant: "on", weight: 0 }], version: 5 };
    const calls = mockFetch(
      on("GET", /\/flags\/new-checkout$/, 200, flag()),
      on("GET", /\/experiments$/, 200, { items: [], next_cursor: "" }),
      on("GET", /\/assignments/, 200, page),
      on("PATCH", /\/environments\/development$/, 409, { error: { code: "version_conflict", message: "changed", current } }),
    );
    renderPage(<FlagPage />, { path, route, env: "development" });
    const on_ = await screen.findByLabelText("On percent");
    await userEvent.clear(on_);
    await userEvent.type(on_, "30");
    expect(screen.getByLabelText("Off percent")).toHaveValue("70");
    await userEvent.click(screen.getByRole("button", { name: "Save targeting" }));
    const alert = await screen.findByText("Someone else changed this flag in Development.");
    expect(alert).toBeInTheDocument();
    const patch = calls.find((c) => c.method === "PATCH")!;
    expect(patch.body).toEqual({ version: 1, rollout: [{ variant: "off", weight: 7000 }, { variant: "on", weight: 3000 }] });
    await waitFor(() => expect(screen.getByLabelText("Off percent")).toHaveValue("100"));
    expect(screen.getByLabelText("On percent")).toHaveValue("0");
  });

  it("a rollout change refused by a running experiment can be confirmed as a new phase", async () => {
    const saved = { ...flag().environments[1], rollout: [{ variant: "off", weight: 2000 }, { variant: "on", weight: 8000 }], version: 2 };
    const calls = mockFetch(
      on("GET", /\/flags\/new-checkout$/, 200, flag()),
      on("GET", /\/experiments$/, 200, { items: [], next_cursor: "" }),
      on("GET", /\/assignments/, 200, page),
      (c) =>
        c.method === "PATCH" && /\/environments\/development$/.test(c.url)
          ? (c.body as { new_experiment_phase?: boolean }).new_experiment_phase
            ? { status: 200, body: saved }
            : {
                status: 409,
                body: { error: { code: "experiment_running", message: 'experiment "checkout-test" is running on this flag in this environment (phase 1): changing the rollout would break it; confirm a new phase, or stop the experiment first' } },
              }
          : undefined,
    );
    renderPage(<FlagPage />, { path, route, env: "development" });
    const on_ = await screen.findByLabelText("On percent");
    await userEvent.clear(on_);
    await userEvent.type(on_, "80");
    await userEvent.click(screen.getByRole("button", { name: "Save targeting" }));
    expect(await screen.findByText("An experiment is running on this flag in Development.")).toBeInTheDocument();
    expect(screen.getByText(/experiment "checkout-test" is running/)).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Save as a new experiment phase" }));
    await waitFor(() => expect(screen.queryByText("An experiment is running on this flag in Development.")).not.toBeInTheDocument());
    const patches = calls.filter((c) => c.method === "PATCH");
    expect(patches).toHaveLength(2);
    expect(patches[0].body).toEqual({ version: 1, rollout: [{ variant: "off", weight: 2000 }, { variant: "on", weight: 8000 }] });
    expect(patches[1].body).toEqual({ version: 1, rollout: [{ variant: "off", weight: 2000 }, { variant: "on", weight: 8000 }], new_experiment_phase: true });
    await waitFor(() => expect(screen.getByLabelText("On percent")).toHaveValue("80"));
  });

  it("a 422 on a rollout weight is shown on the rollout editor", async () => {
    mockFetch(
      on("GET", /\/flags\/new-checkout$/, 200, flag()),
      on("GET", /\/experiments$/, 200, { items: [], next_cursor: "" }),
      on("GET", /\/assignments/, 200, page),
      on("PATCH", /\/environments\/development$/, 422, { error: { code: "invalid", message: "weights must sum to 10000 basis points", field: "rollout" } }),
    );
    renderPage(<FlagPage />, { path, route, env: "development" });
    await userEvent.click(await screen.findByRole("button", { name: "All Off" }));
    await userEvent.click(screen.getByRole("button", { name: "Save targeting" }));
    const group = screen.getByRole("group", { name: "Rollout" });
    expect(await within(group).findByRole("alert")).toHaveTextContent("weights must sum to 10000 basis points");
  });

  it("shows the Go SDK snippet for the flag", async () => {
    mockFetch(on("GET", /\/flags\/new-checkout$/, 200, flag()), on("GET", /\/assignments/, 200, page));
    renderPage(<FlagPage />, { path, route, env: "development" });
    expect(await screen.findByLabelText("Go SDK code")).toHaveTextContent('client.Bool("new-checkout", userID, false)');
  });

  it("a missing flag shows the API's not-found message", async () => {
    mockFetch(on("GET", /\/flags\/nope$/, 404, { error: { code: "not_found", message: 'flag "nope" not found' } }));
    renderPage(<FlagPage />, { path: "/p/default/development/flags/nope", route, env: "development" });
    expect(await screen.findByRole("alert")).toHaveTextContent('flag "nope" not found');
  });
});
