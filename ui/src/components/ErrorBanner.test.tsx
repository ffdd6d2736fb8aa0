import { describe, expect, it } from "vitest";
import { render, screen } from "@testing-library/react";
import { ApiError } from "../api/client";
import { ErrorBanner } from "./ErrorBanner";

describe("ErrorBanner", () => {
  it("an unreachable events database is one clear message, not 'Something went wrong'", () => {
    render(<ErrorBanner error={new ApiError(502, "unreachable", "cannot reach db.internal:5432 (connection refused)")} />);
    const banner = screen.getByRole("alert");
    expect(banner).toHaveTextContent("Connection problem");
    expect(banner).toHaveTextContent("cannot reach db.internal:5432 (connection refused)");
    expect(banner).not.toHaveTextContent("Something went wrong");
  });
});
