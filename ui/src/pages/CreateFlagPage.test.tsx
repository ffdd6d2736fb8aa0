import { afterEach, describe, expect, it, vi } from "vitest";
import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { CreateFlagPage } from "./CreateFlagPage";
import { flag, mockFetch, on, renderPage } from "../test/helpers";

afterEach(() => vi.unstubAllGlobals());

const invalid = (field: string, message: string) => ({ error: { code: "invalid", message, field } });

describe("CreateFlagPage: API errors on the right field", () => {
  it("a 422 on key marks the key input, shows the message next to it and focuses it", async () => {
    mockFetch(on("POST", /\/flags$/, 422, invalid("key", "must match ^[a-z0-9][a-z0-9._-]{0,99}$")));
    renderPage(<CreateFlagPage />, { path: "/p/default/production/flags/new" });
    await userEvent.type(screen.getByLabelText("Name"), "New checkout");
    expect(screen.getByLabelText("Key")).toHaveValue("new-checkout");
    await userEvent.clear(screen.getByLabelText("Key"));
    await userEvent.type(screen.getByLabelText("Key"), "Bad Key");
    await userEvent.click(screen.getByRole("button", { name: "Create flag" }));

    const key = await screen.findByLabelText("Key");
    await waitFor(() => expect(key).toHaveAttribute("aria-invalid", "true"));
    expect(key).toHaveAccessibleDescription(/must match/);
    expect(screen.getByLabelText("Name")).not.toHaveAttribute("aria-invalid");
    expect(screen.getByLabelText("Description")).not.toHaveAttribute("aria-invalid");
    expect(screen.getAllByRole("alert")[0]).toHaveTextContent("Key: must match");
    await waitFor(() => expect(key).toHaveFocus());
  });

  it("an error on a tag element marks the tags input", async () => {
    mockFetch(on("POST", /\/flags$/, 422, invalid("tags[1]", "must match ^[a-z0-9][a-z0-9._:-]{0,49}$")));
    renderPage(<CreateFlagPage />);
    await userEvent.type(screen.getByLabelText("Name"), "x");
    await userEvent.type(screen.getByLabelText("Tags"), "ok, bad!");
    await userEvent.click(screen.getByRole("button", { name: "Create flag" }));
    await waitFor(() => expect(screen.getByLabelText("Tags")).toHaveAttribute("aria-invalid", "true"));
    expect(screen.getByLabelText("Key")).not.toHaveAttribute("aria-invalid");
  });

  it("an error on a variant value marks that variant's value", async () => {
    mockFetch(on("POST", /\/flags$/, 422, invalid("variants[1].value", "must be a string value")));
    renderPage(<CreateFlagPage />);
    await userEvent.type(screen.getByLabelText("Name"), "Button colour");
    await userEvent.click(screen.getByRole("radio", { name: /String/ }));
    await userEvent.click(screen.getByRole("button", { name: "Create flag" }));
    await waitFor(() => expect(screen.getByLabelText(/^Value.*of variant 2$/)).toHaveAttribute("aria-invalid", "true"));
    expect(screen.getByLabelText(/^Value.*of variant 1$/)).not.toHaveAttribute("aria-invalid");
    expect(screen.getByLabelText(/^Value.*of variant 2$/)).toHaveAccessibleDescription("must be a string value");
  });

  it("invalid JSON is caught before sending, on the right variant", async () => {
    const calls = mockFetch();
    renderPage(<CreateFlagPage />);
    await userEvent.type(screen.getByLabelText("Name"), "Config");
    await userEvent.click(screen.getByRole("radio", { name: /JSON/ }));
    const v1 = screen.getByLabelText(/^Value.*of variant 1$/);
    await userEvent.clear(v1);
    await userEvent.type(v1, "{{not json");
    await userEvent.click(screen.getByRole("button", { name: "Create flag" }));
    await waitFor(() => expect(v1).toHaveAttribute("aria-invalid", "true"));
    expect(calls).toEqual([]);
  });

  it("sends typed variant values", async () => {
    const calls = mockFetch(on("POST", /\/flags$/, 201, flag({ key: "limit", kind: "number" })), on("GET", /\/flags\/limit$/, 200, flag({ key: "limit" })));
    renderPage(<CreateFlagPage />);
    await userEvent.type(screen.getByLabelText("Name"), "Limit");
    await userEvent.click(screen.getByRole("radio", { name: /Number/ }));
    const v2 = screen.getByLabelText(/^Value.*of variant 2$/);
    await userEvent.clear(v2);
    await userEvent.type(v2, "2.5");
    await userEvent.type(screen.getByLabelText("Tags"), "Team:Web, perf");
    await userEvent.click(screen.getByRole("button", { name: "Create flag" }));
    await waitFor(() => expect(calls.length).toBe(1));
    expect(calls[0].body).toEqual({
      key: "limit",
      name: "Limit",
      description: "",
      tags: ["team:web", "perf"],
      kind: "number",
      variants: [
        { key: "control", name: "Control", value: 0 },
        { key: "treatment", name: "Treatment", value: 2.5 },
      ],
    });
  });
});
