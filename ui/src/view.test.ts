import { describe, expect, it } from "vitest";
import type { ActionView } from "./bindings/ActionView";
import type { AppEvent } from "./bindings/AppEvent";
import type { MeetingView } from "./bindings/MeetingView";
import type { GroupView } from "./bindings/GroupView";
import type { Vitality } from "./bindings/Vitality";
import { localeUsable } from "./locale";
import {
  carryTyping,
  needsReload,
  actionsByUrgency,
  attendanceSeries,
  charterChanges,
  charterForm,
  followThroughBars,
  groupedDigits,
  isPresent,
  keepCaret,
  listNames,
  meetingsNewestFirst,
  movePlaces,
  placeOf,
  readableBy,
  readableMonth,
  withWhom,
  type Places,
  newFacesSeries,
  roleTerms,
  todayText,
} from "./view";

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

// Typing while a peer's edit arrives is merged by the backend (crates/model/tests/minutes_merge.rs); only the
// keystrokes typed while a save was on its way are carried here, onto the text the save came back with.
describe("keystrokes typed during a save", () => {
  it("are carried onto the merged text, keeping the words merged into the save", () => {
    expect(carryTyping("AB", "ABC", "ZAB")).toBe("ZABC");
    expect(carryTyping("a b", "a X b", "a b c")).toBe("a X b c");
  });

  it("change nothing when there were none", () => {
    expect(carryTyping("same", "same", "merged")).toBe("merged");
  });
});

describe("role terms", () => {
  it("splits role grants into running terms and ended ones, with names", () => {
    const view = {
      members: [{ id: "m1", name: "Ana" }],
      roles: [
        { id: "r1", member: "m1", role: "facilitator", from: "2026-01-01", until: "2026-06-30", conflicts: [] },
        { id: "r2", member: "m1", role: "steward", from: "2026-02-01", until: null, conflicts: [] },
        { id: "r3", member: "gone", role: "note-taker", from: "2026-03-01", until: null, conflicts: [] },
      ],
    } as unknown as GroupView;
    const { current, past } = roleTerms(view, "2026-11-20");
    expect(current.map((g) => `${g.name}:${g.role}`)).toEqual(["someone no longer listed:note-taker", "Ana:steward"]);
    expect(past.map((g) => g.id)).toEqual(["r1"]);
  });

  it("sends only the charter fields the person changed", () => {
    const view = { charter: { purpose: "Homes", decision_rules: "Consent", cadence: null, confidentiality: "" } } as unknown as GroupView;
    const form = { ...charterForm(view), cadence: "monthly" };
    expect(charterChanges(view, form)).toEqual({ purpose: null, decision_rules: null, cadence: "monthly", confidentiality: null });
  });

  it("turns the vitality figures into chart columns", () => {
    const vitality = {
      attendance: { history: [{ meeting: "a", date: "2026-10-01", count: 5 }, { meeting: "b", date: "2026-11-01", count: 8 }] },
      new_faces: { per_meeting: [{ meeting: "b", date: "2026-11-01", new_faces: 3, came_back: 1 }] },
      actions: { total: 6, done_on_time: 3, done_late: 1, overdue: 1, open: 1 },
    } as unknown as Vitality;
    const [days, counts] = attendanceSeries(vitality);
    expect(days[1] - days[0]).toBe(31 * 86400);
    expect(counts).toEqual([5, 8]);
    expect(newFacesSeries(vitality).slice(1)).toEqual([[3], [1]]);
    expect(followThroughBars(vitality).map((b) => b.count)).toEqual([3, 1, 1, 1]);
  });
});

describe("the reported locale", () => {
  it("is refused when Intl cannot use it (LANG=C), so the window falls back to English instead of staying blank", () => {
    expect(localeUsable("C")).toBe(false);
    expect(localeUsable("en-GB")).toBe(true);
  });
});

describe("reloading on the backend's changes", () => {
  const changed = (group: string, heads: string[]): AppEvent => ({ kind: "changed", group, origin: "local", records: ["meeting"], heads });
  it("a window skips the echo of its own edit, already reloaded", () => {
    expect(needsReload([changed("g1", ["b", "a"])], "g1", ["a", "b"])).toBe(false);
  });
  it("a window reloads for a change it does not show yet, and only for its group", () => {
    expect(needsReload([changed("g1", ["c"])], "g1", ["a", "b"])).toBe(true);
    expect(needsReload([changed("g2", ["c"])], "g1", ["a"])).toBe(false);
    expect(needsReload([{ kind: "peers" }], "g1", ["a"])).toBe(false);
    expect(needsReload([changed("g1", ["a"])], "g1", [])).toBe(true);
  });
});

describe("who can read a record", () => {
  const places: Places = {
    placement: { "r-mine": "c-me", "r-team": "c-team", "r-elsewhere": "c-other", "r-unknown": "c-gone" },
    compartments: [
      { id: "c-me", name: "Only me", members: ["ana"], member_names: ["Ana"], only_me: true, readable_here: true, safety_number: "1" },
      { id: "c-team", name: "Negotiation team", members: ["ana", "bea"], member_names: ["Ana", "Bea"], only_me: false, readable_here: true, safety_number: "2" },
    ],
    all_compartments: { "c-me": "Only me", "c-team": "Negotiation team", "c-other": "Grievance committee" },
    readers: { "c-me": "only you (your own devices)", "c-team": "Negotiation team (Ana and Bea)", "c-other": "Grievance committee" },
    whole_group: "the whole group",
    only_me: "only you (your own devices)",
  };

  it("says the whole group for a record in the group's own document", () => {
    expect(readableBy(places, "r-meeting")).toBe("Readable by: the whole group");
  });

  it("says only you for a record in this member's only me", () => {
    expect(readableBy(places, "r-mine")).toBe("Readable by: only you (your own devices)");
  });

  it("names a compartment and its members", () => {
    expect(readableBy(places, "r-team")).toBe("Readable by: Negotiation team (Ana and Bea)");
  });

  it("names a compartment this member is not in by the group's name for it, or as a compartment", () => {
    expect(readableBy(places, "r-elsewhere")).toBe("Readable by: Grievance committee");
    expect(readableBy(places, "r-unknown")).toBe("Readable by: a compartment");
  });

  it("lists names as a sentence does", () => {
    expect(listNames([])).toBe("nobody");
    expect(listNames(["Ana"])).toBe("Ana");
    expect(listNames(["Ana", "Bea", "Cal"])).toBe("Ana, Bea and Cal");
  });

  it("offers the whole group, only me and each compartment as places to move to, starting from where it is", () => {
    expect(movePlaces(places)).toEqual([
      { to: "group", label: "the whole group" },
      { to: "only me", label: "only you (your own devices)" },
      { to: "c-team", label: "Negotiation team (Ana and Bea)" },
    ]);
    expect(placeOf(places, "r-meeting")).toBe("group");
    expect(placeOf(places, "r-mine")).toBe("only me");
    expect(placeOf(places, "r-team")).toBe("c-team");
  });
});

describe("listening records", () => {
  const view = {
    members: [{ id: "ana", name: "Ana" }],
    people: [{ id: "dee", name: "Dee" }],
  } as unknown as GroupView;
  const one = (fields: Partial<{ with_member: string; with_person: string; with_name: string }>) =>
    ({ with_member: null, with_person: null, with_name: "", ...fields }) as never;

  it("names who a one-on-one was with: a member, someone in the base, or the name as written", () => {
    expect(withWhom(view, one({ with_member: "ana" }))).toBe("Ana");
    expect(withWhom(view, one({ with_person: "dee" }))).toBe("Dee");
    expect(withWhom(view, one({ with_name: "the new driver" }))).toBe("the new driver");
  });

  it("writes a month as people read it", () => {
    expect(readableMonth("2026-11")).toBe("Nov 2026");
  });
});
