import { afterEach, describe, expect, it, vi } from "vitest";
import { act, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { EnvToggle } from "./EnvToggle";
import { envs, flag, mockFetch, on, renderPage } from "../test/helpers";

afterEach(() => vi.unstubAllGlobals());

const state = flag().environments[0];

function setup(envKey: "production" | "development") {
  const onChanged = vi.fn();
  const env = envs.find((e) => e.key === envKey)!;
  const calls = mockFetch(on("PATCH", /\/environments\/(production|development)$/, 200, { ...state, environment: envKey, enabled: true, version: 2 }));
  renderPage(<EnvToggle project="default" flagKey="new-checkout" flagName="New checkout" env={env} state={{ ...state, environment: envKey }} onChanged={onChanged} />);
  return { onChanged, calls };
}

describe("EnvToggle", () => {
  it("asks before changing production, and Cancel changes nothing", async () => {
    const { onChanged, calls } = setup("production");
    const sw = screen.getByRole("switch", { name: "new-checkout in Production" });
    await userEvent.click(sw);
    const dialog = screen.getByRole("dialog", { name: /Turn on “New checkout” in Production\?/ });
    expect(dialog).toBeInTheDocument();
    expect(calls).toEqual([]);
    await userEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(calls).toEqual([]);
    expect(onChanged).not.toHaveBeenCalled();
    expect(sw).toHaveFocus();
  });

  it("Escape cancels; confirming with the keyboard sends the toggle", async () => {
    const { onChanged, calls } = setup("production");
    act(() => screen.getByRole("switch").focus());
    await userEvent.keyboard(" ");
    expect(screen.getByRole("dialog")).toBeInTheDocument();
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    await userEvent.keyboard("{Enter}");
    expect(screen.getByRole("button", { name: "Turn on in Production" })).toHaveFocus();
    await userEvent.keyboard("{Enter}");
    await waitFor(() => expect(onChanged).toHaveBeenCalledWith(expect.objectContaining({ enabled: true })));
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ method: "PATCH", url: "/api/v1/projects/default/flags/new-checkout/environments/production", body: { enabled: true } });
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
  });

  it("toggles other environments at once", async () => {
    const { onChanged, calls } = setup("development");
    await userEvent.click(screen.getByRole("switch", { name: "new-checkout in Development" }));
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    await waitFor(() => expect(onChanged).toHaveBeenCalled());
    expect(calls[0].body).toEqual({ enabled: true });
  });

  it("shows a failure inside the dialog and keeps it open", async () => {
    mockFetch(on("PATCH", /production$/, 404, { error: { code: "not_found", message: 'flag "new-checkout" not found' } }));
    renderPage(<EnvToggle project="default" flagKey="new-checkout" flagName="New checkout" env={envs[0]} state={state} onChanged={() => {}} />);
    await userEvent.click(screen.getByRole("switch"));
    await userEvent.click(screen.getByRole("button", { name: "Turn on in Production" }));
    const dialog = screen.getByRole("dialog");
    expect(await screen.findByText('flag "new-checkout" not found')).toBeInTheDocument();
    expect(dialog).toBeInTheDocument();
  });
});
