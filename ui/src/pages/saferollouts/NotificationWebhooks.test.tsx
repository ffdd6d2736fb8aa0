import { afterEach, describe, expect, it, vi } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { NotificationWebhooksPage } from "./NotificationWebhooks";
import { mockFetch, on, renderPage } from "../../test/helpers";

afterEach(() => vi.unstubAllGlobals());

const hook = { id: 7, url: "https://hooks.example.com/a", created_at: "2026-12-02T01:00:00Z" };
const page = { path: "/p/default/production/notifications", route: "/p/:project/:env/notifications" };

describe("NotificationWebhooksPage", () => {
  it("adds a webhook, showing the API's field error at its field first", async () => {
    const calls = mockFetch(
      on("GET", /\/notification-webhooks$/, 200, { items: [], next_cursor: "" }),
      (c) =>
        c.method === "POST" && (c.body as { secret: string }).secret === "short"
          ? { status: 422, body: { error: { code: "invalid", field: "secret", message: "must be 16 to 200 characters" } } }
          : undefined,
      on("POST", /\/notification-webhooks$/, 201, { ...hook, url: "https://hooks.example.com/new" }),
    );
    renderPage(<NotificationWebhooksPage />, page);
    expect(await screen.findByText(/No webhooks yet/)).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText("URL"), "https://hooks.example.com/new");
    await userEvent.type(screen.getByLabelText("Signing secret"), "short");
    await userEvent.click(screen.getByRole("button", { name: "Add webhook" }));
    expect(await screen.findByText("must be 16 to 200 characters")).toBeInTheDocument();
    await userEvent.clear(screen.getByLabelText("Signing secret"));
    await userEvent.type(screen.getByLabelText("Signing secret"), "a-long-enough-secret-123");
    await userEvent.click(screen.getByRole("button", { name: "Add webhook" }));
    expect(await screen.findByRole("listitem", { name: "Webhook https://hooks.example.com/new" })).toBeInTheDocument();
    const posts = calls.filter((c) => c.method === "POST");
    expect(posts[1].body).toEqual({ url: "https://hooks.example.com/new", secret: "a-long-enough-secret-123" });
  });

  it("edits the URL without resending the secret, sends a test, and shows a 502 from the receiver", async () => {
    let tests = 0;
    const calls = mockFetch(
      on("GET", /\/notification-webhooks$/, 200, { items: [hook], next_cursor: "" }),
      on("PATCH", /\/notification-webhooks\/7$/, 200, { ...hook, url: "https://hooks.example.com/b" }),
      (c) => {
        if (c.method !== "POST" || !/\/notification-webhooks\/7\/test$/.test(c.url)) return undefined;
        tests++;
        return tests === 1
          ? { status: 200, body: { status: 204, delivery: "test-7-1" } }
          : { status: 502, body: { error: { code: "webhook_refused", message: "hooks.example.com answered 500" } } };
      },
    );
    renderPage(<NotificationWebhooksPage />, page);
    const item = await screen.findByRole("listitem", { name: "Webhook https://hooks.example.com/a" });
    await userEvent.click(within(item).getByRole("button", { name: "Edit" }));
    const form = screen.getByRole("form", { name: "Edit webhook https://hooks.example.com/a" });
    await userEvent.clear(within(form).getByLabelText("URL"));
    await userEvent.type(within(form).getByLabelText("URL"), "https://hooks.example.com/b");
    await userEvent.click(within(form).getByRole("button", { name: "Save webhook" }));
    const edited = await screen.findByRole("listitem", { name: "Webhook https://hooks.example.com/b" });
    expect(calls.find((c) => c.method === "PATCH")?.body).toEqual({ url: "https://hooks.example.com/b" });

    await userEvent.click(within(edited).getByRole("button", { name: "Send test" }));
    expect(await screen.findByText(/Test notification delivered to https:\/\/hooks.example.com\/b \(HTTP 204\)/)).toBeInTheDocument();
    await userEvent.click(within(edited).getByRole("button", { name: "Send test" }));
    expect(await screen.findByText(/hooks.example.com answered 500/)).toBeInTheDocument();
  });

  it("removes a webhook after confirmation", async () => {
    const calls = mockFetch(
      on("GET", /\/notification-webhooks$/, 200, { items: [hook], next_cursor: "" }),
      on("DELETE", /\/notification-webhooks\/7$/, 200, undefined),
    );
    renderPage(<NotificationWebhooksPage />, page);
    const item = await screen.findByRole("listitem", { name: "Webhook https://hooks.example.com/a" });
    await userEvent.click(within(item).getByRole("button", { name: "Remove" }));
    expect(calls.some((c) => c.method === "DELETE")).toBe(false);
    await userEvent.click(await screen.findByRole("button", { name: "Remove webhook" }));
    await waitFor(() => expect(calls.some((c) => c.method === "DELETE")).toBe(true));
    expect(await screen.findByText(/No webhooks yet/)).toBeInTheDocument();
  });
});
