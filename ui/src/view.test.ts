import { describe, expect, it } from "vitest";
import type { ActionView } from "./bindings/ActionView";
import type { MeetingView } from "./bindings/MeetingView";
import { actionsByUrgency, groupedDigits, isPresent, keepCaret, meetingsNewestFirst, rebaseTyping, todayText } from "./view";

const action = (id: string, due: string | null, status: ActionView["status"] = "open"): ActionView =>
  ({ id, title: id, owners: [], due, status, done_on: null, decision: null, meeting: null, conflicts: [] }) as unknown as ActionView;

describe("view logic", () => {
  it("splits open actions into overdue and upcoming and leaves done ones out", () => {
    const { overdue, upcoming } = actionsByUrgency(
      [action("late", "2026-11-01"), action("soon", "2026-12-01"), action("someday", null), action("done", "2026-10-01", "done")],
      "2026-11-20",
    );
    expect(overdue.map((a) => a.id)).toEqual(["late"]);
    expect(upcoming.map((a) => a.id)).toEqual(["soon", "someday"]);
  });

  it("lists meetings newest first", () => {
    const meetings = [{ date: "2026-01-01", title: "a" }, { date: "2026-03-01", title: "b" }] as MeetingView[];
    expect(meetingsNewestFirst({ meetings } as never).map((m) => m.title)).toEqual(["b", "a"]);
  });

  it("knows who is ticked present", () => {
    const meeting = { attendance: [{ who: { kind: "member", id: "m1" } }, { who: { kind: "guest", id: "Rosa" } }] } as unknown as MeetingView;
    expect(isPresent(meeting, "m1")).toBe(true);
    expect(isPresent(meeting, "Rosa")).toBe(false);
  });

  it("groups the safety number in fives for reading aloud", () => {
    expect(groupedDigits("12345 67890 12345")).toEqual(["12345", "67890", "12345"]);
  });

  it("keeps the caret on the same words when a peer's edit lands before or after it", () => {
    expect(keepCaret("hello world", "hello world, again", 5)).toBe(5);
    expect(keepCaret("hello world", "Oh, hello world", 5)).toBe(9);
    expect(keepCaret("same", "same", 2)).toBe(2);
  });

  it("writes today as year-month-day", () => {
    expect(todayText(new Date(2026, 10, 2))).toBe("2026-11-02");
  });
});

describe("typing while a peer's edit arrives", () => {
  it("keeps both: our words and theirs", () => {
    expect(rebaseTyping("Agenda.", "Agenda. Rent.", "Intro. Agenda.")).toBe("Intro. Agenda. Rent.");
    expect(rebaseTyping("a b", "a X b", "a b c")).toBe("a X b c");
  });

  it("takes theirs when we typed nothing, and ours when they changed nothing", () => {
    expect(rebaseTyping("same", "same", "changed")).toBe("changed");
    expect(rebaseTyping("same", "ours", "same")).toBe("ours");
  });
});
