import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { act, render, screen } from "@testing-library/react";
import { TOAST_MS, ToastProvider, useToast } from "./Toast";

function SaveButton() {
  const toast = useToast();
  return <button onClick={() => toast("Saved")}>save</button>;
}

describe("ToastProvider", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("shows a toast and dismisses it after its time", () => {
    render(
      <ToastProvider>
        <SaveButton />
      </ToastProvider>,
    );
    act(() => screen.getByRole("button", { name: "save" }).click());
    expect(screen.getByRole("status")).toHaveTextContent("Saved");
    act(() => vi.advanceTimersByTime(TOAST_MS - 1));
    expect(screen.getByRole("status")).toHaveTextContent("Saved");
    act(() => vi.advanceTimersByTime(1));
    expect(screen.getByRole("status")).not.toHaveTextContent("Saved");
    expect(vi.getTimerCount()).toBe(0);
  });

  it("leaves no timer behind when the page unmounts with toasts showing", () => {
    const { unmount } = render(
      <ToastProvider>
        <SaveButton />
      </ToastProvider>,
    );
    act(() => {
      screen.getByRole("button", { name: "save" }).click();
      screen.getByRole("button", { name: "save" }).click();
    });
    expect(vi.getTimerCount()).toBe(2);
    unmount();
    // A timer left running would update the unmounted provider after the
    // test's DOM is gone (an uncaught "window is not defined" in CI).
    expect(vi.getTimerCount()).toBe(0);
  });
});
