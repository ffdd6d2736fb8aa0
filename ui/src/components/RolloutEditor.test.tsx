import { useState } from "react";
import { describe, expect, it } from "vitest";
import { act, fireEvent, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { RolloutEditor } from "./RolloutEditor";

const variants = [
  { key: "control", name: "Control", value: "a" },
  { key: "blue", name: "Blue", value: "b" },
  { key: "green", name: "Green", value: "c" },
];

function Harness({ initial, log }: { initial: number[]; log: number[][] }) {
  const [ws, setWs] = useState(initial);
  return (
    <RolloutEditor
      variants={variants}
      value={ws}
      onChange={(next) => {
        log.push(next);
        setWs(next);
      }}
    />
  );
}

const value = (label: string) => (screen.getByLabelText(label) as HTMLInputElement).value;

describe("RolloutEditor", () => {
  it("typing a percent rebalances the others and keeps 100%", async () => {
    const log: number[][] = [];
    render(<Harness initial={[10000, 0, 0]} log={log} />);
    const control = screen.getByLabelText("Control percent");
    await userEvent.clear(control);
    await userEvent.type(control, "40");
    expect(log.length).toBeGreaterThan(0);
    for (const ws of log) expect(ws.reduce((a, b) => a + b, 0)).toBe(10000);
    expect(log.at(-1)).toEqual([4000, 3000, 3000]);
    await userEvent.tab();
    expect(value("Control percent")).toBe("40");
    expect(value("Blue percent")).toBe("30");
    expect(value("Green percent")).toBe("30");
    expect(screen.getByText("Total 100%")).toBeInTheDocument();
  });

  it("sliders keep the total too", () => {
    const log: number[][] = [];
    render(<Harness initial={[4000, 3000, 3000]} log={log} />);
    fireEvent.change(screen.getByLabelText("Blue share (slider)"), { target: { value: "9000" } });
    expect(log.at(-1)).toEqual([571, 9000, 429]);
    expect(log.at(-1)!.reduce((a, b) => a + b, 0)).toBe(10000);
  });

  it("arrow keys step by 1% and Shift+arrow by 10%", async () => {
    const log: number[][] = [];
    render(<Harness initial={[5000, 5000, 0]} log={log} />);
    act(() => screen.getByLabelText("Green percent").focus());
    await userEvent.keyboard("{ArrowUp}");
    expect(log.at(-1)).toEqual([4950, 4950, 100]);
    await userEvent.keyboard("{Shift>}{ArrowUp}{/Shift}");
    expect(log.at(-1)![2]).toBe(1100);
    expect(log.at(-1)!.reduce((a, b) => a + b, 0)).toBe(10000);
  });

  it("unreadable input is not applied", async () => {
    const log: number[][] = [];
    render(<Harness initial={[5000, 5000, 0]} log={log} />);
    const control = screen.getByLabelText("Control percent");
    await userEvent.clear(control);
    await userEvent.type(control, "abc");
    await userEvent.type(control, "{Enter}");
    expect(log).toEqual([]);
    await userEvent.tab();
    expect(value("Control percent")).toBe("50");
  });

  it("split evenly and all-to-one buttons", async () => {
    const log: number[][] = [];
    render(<Harness initial={[10000, 0, 0]} log={log} />);
    await userEvent.click(screen.getByRole("button", { name: "Split evenly" }));
    expect(log.at(-1)).toEqual([3334, 3333, 3333]);
    await userEvent.click(screen.getByRole("button", { name: "All Green" }));
    expect(log.at(-1)).toEqual([0, 0, 10000]);
  });

  it("shows an API error on the rollout", () => {
    render(<RolloutEditor variants={variants} value={[10000, 0, 0]} onChange={() => {}} error="weights must sum to 10000" />);
    expect(screen.getByRole("alert")).toHaveTextContent("weights must sum to 10000");
  });
});
