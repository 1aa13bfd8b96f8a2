import type { AppEvent } from "./bindings/AppEvent";
// How records are arranged for reading: pure functions of the generated view types, tested with Vitest.
import type { ActionView } from "./bindings/ActionView";
import type { GroupView } from "./bindings/GroupView";
import type { CharterInput } from "./bindings/CharterInput";
import type { CompartmentView } from "./bindings/CompartmentView";
import type { OneOnOneView } from "./bindings/OneOnOneView";
import type { MeetingView } from "./bindings/MeetingView";
import type { RoleGrantView } from "./bindings/RoleGrantView";
import type { Vitality } from "./bindings/Vitality";

/** Meetings, newest first. */
export function meetingsNewestFirst(view: GroupView): MeetingView[] {
  return [...view.meetings].sort((a, b) => b.date.localeCompare(a.date) || a.title.localeCompare(b.title));
}

/** Open action items split into overdue and upcoming (by due date), as of `today` (YYYY-MM-DD). */
export function actionsByUrgency(actions: ActionView[], today: string): { overdue: ActionView[]; upcoming: ActionView[] } {
  const open = actions.filter((a) => a.status === "open");
  const byDue = (a: ActionView, b: ActionView) => (a.due ?? "9999").localeCompare(b.due ?? "9999");
  return {
    overdue: open.filter((a) => a.due !== null && a.due < today).sort(byDue),
    upcoming: open.filter((a) => a.due === null || a.due >= today).sort(byDue),
  };
}

/** Whether a member is recorded as present at a meeting. */
export function isPresent(meeting: MeetingView, member: string): boolean {
  return meeting.attendance.some((a) => a.who.kind === "member" && a.who.id === member);
}

/** A date as people read it ("Fri 20 Nov 2026"), or a dash. */
export function readableDate(date: string | null): string {
  if (!date) return "—";
  const parsed = new Date(`${date}T12:00:00`);
  if (Number.isNaN(parsed.getTime())) return date;
  return parsed.toLocaleDateString("en-GB", { weekday: "short", day: "numeric", month: "short", year: "numeric" });
}

/** Today as YYYY-MM-DD, in local time. */
export function todayText(now: Date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** The safety number in groups of five digits, for reading aloud. */
export function groupedDigits(number: string): string[] {
  const digits = number.replace(/\D/g, "");
  const groups: string[] = [];
  for (let i = 0; i < digits.length; i += 5) groups.push(digits.slice(i, i + 5));
  return groups;
}

/**
 * Where to put the cursor after the minutes changed underneath it: keeps the caret on the same text when the
 * change happened after it, and shifts it by the change's length when the change happened before it.
 */
export function keepCaret(before: string, after: string, caret: number): number {
  if (before === after) return caret;
  let start = 0;
  while (start < before.length && start < after.length && before[start] === after[start]) start++;
  if (caret <= start) return caret;
  return Math.max(start, Math.min(after.length, caret + (after.length - before.length)));
}

/**
 * The keystrokes typed while a save was on its way, carried onto the text the save came back with: `base` is the
 * text that was sent, `ours` the box's text now, `theirs` the merged text the backend returned (the merging of
 * the sent text with others' words is the backend's). Only this box's own few keystrokes of that moment move, as
 * one splice to where its surroundings now are, so the words merged into the save are not undone by the next.
 */
export function carryTyping(base: string, ours: string, theirs: string): string {
  if (ours === base) return theirs;
  if (theirs === base) return ours;
  let start = 0;
  while (start < base.length && start < ours.length && base[start] === ours[start]) start++;
  let endBase = base.length;
  let endOurs = ours.length;
  while (endBase > start && endOurs > start && base[endBase - 1] === ours[endOurs - 1]) {
    endBase--;
    endOurs--;
  }
  const from = keepCaret(base, theirs, start);
  const to = Math.max(from, keepCaret(base, theirs, endBase));
  return theirs.slice(0, from) + ours.slice(start, endOurs) + theirs.slice(to);
}

/** A member's role grants, split into terms running on `today` and terms that have ended, each with the name. */
export function roleTerms(
  view: GroupView,
  today: string,
): { current: (RoleGrantView & { name: string })[]; past: (RoleGrantView & { name: string })[] } {
  const named = view.roles.map((grant) => ({
    ...grant,
    name: view.members.find((m) => m.id === grant.member)?.name ?? "someone no longer listed",
  }));
  const running = (g: RoleGrantView) => g.from <= today && (g.until === null || g.until >= today);
  const byStart = (a: RoleGrantView, b: RoleGrantView) => b.from.localeCompare(a.from);
  return {
    current: named.filter(running).sort(byStart),
    past: named.filter((g) => !running(g)).sort(byStart),
  };
}

/** The charter fields a person changed in the form, and only those, so untouched text merges with peers' edits. */
export function charterChanges(view: GroupView, form: CharterForm): CharterInput {
  const changed = (before: string, after: string) => (before === after ? null : after);
  return {
    purpose: changed(view.charter.purpose, form.purpose),
    decision_rules: changed(view.charter.decision_rules, form.decision_rules),
    cadence: changed(view.charter.cadence ?? "", form.cadence),
    confidentiality: changed(view.charter.confidentiality, form.confidentiality),
  };
}

export type CharterForm = { purpose: string; decision_rules: string; cadence: string; confidentiality: string };

/** The form's starting values: the charter as written. */
export function charterForm(view: GroupView): CharterForm {
  const { purpose, decision_rules, cadence, confidentiality } = view.charter;
  return { purpose, decision_rules, cadence: cadence ?? "", confidentiality };
}

/** Seconds since 1970 at noon UTC on a `YYYY-MM-DD` date: the x axis of the charts. */
export function chartTime(date: string): number {
  return Date.parse(`${date}T12:00:00Z`) / 1000;
}

/** Attendance at every held meeting, as chart columns: dates (x) and people present (y). */
export function attendanceSeries(vitality: Vitality): [number[], number[]] {
  const history = vitality.attendance.history;
  return [history.map((m) => chartTime(m.date)), history.map((m) => m.count)];
}

/** New faces per meeting and how many of them came back, as chart columns. */
export function newFacesSeries(vitality: Vitality): [number[], number[], number[]] {
  const rows = vitality.new_faces.per_meeting;
  return [rows.map((m) => chartTime(m.date)), rows.map((m) => m.new_faces), rows.map((m) => m.came_back)];
}

/** Action items by how they were followed through, in the order the chart shows them. */
export function followThroughBars(vitality: Vitality): { label: string; count: number }[] {
  const a = vitality.actions;
  return [
    { label: "Done on time", count: a.done_on_time },
    { label: "Done late", count: a.done_late },
    { label: "Overdue", count: a.overdue },
    { label: "Not yet due", count: a.open },
  ];
}

/**
 * Whether a batch of the backend's changes asks a window showing `group` at version `shown` (its heads) to reload
 * it: a change to another group does not, nor one whose heads the window already shows — the echo of its own
 * edit, reloaded right after it was made.
 */
export function needsReload(events: AppEvent[], group: string, shown: string[]): boolean {
  const same = (a: string[], b: string[]) => a.length === b.length && [...a].sort().every((h, i) => h === [...b].sort()[i]);
  return events.some((e) => e.kind === "changed" && e.group === group && !(shown.length > 0 && same(e.heads, shown)));
}

/** Names as a sentence lists them: "Ana", "Ana and Bea", "Ana, Bea and Cal". */
export function listNames(names: string[]): string {
  if (names.length === 0) return "nobody";
  if (names.length === 1) return names[0];
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

/** What the window knows of where records live: the view's placement, the compartments of the group, and the
 * service's words for who reads each (the window words none of it itself). */
export interface Places {
  /** Record id → hex id of the compartment holding it; a record not listed is the whole group's. */
  placement: { [record in string]?: string };
  /** The compartments this device's member is in. */
  compartments: CompartmentView[];
  /** Every compartment of the group, by id, with its name. */
  all_compartments: { [id in string]?: string };
  /** Who reads each compartment, in the service's words. */
  readers: { [id in string]?: string };
  /** Who reads the group's own records, in the service's words. */
  whole_group: string;
  /** Who reads a record in this member's "only me", in the service's words. */
  only_me: string;
}

/** Who reads a compartment, in the service's words: "only you (your own devices)", "Negotiation team (Ana and Bea)". */
export function readersOfCompartment(places: Places, compartment: string): string {
  return places.readers[compartment] ?? places.all_compartments[compartment] ?? "a compartment";
}

/**
 * The "who can read this" line of a record, from where the service says it lives: "Readable by: the whole
 * group", "Readable by: only you (your own devices)", "Readable by: Negotiation team (Ana and Bea)".
 */
export function readableBy(places: Places, record: string): string {
  const compartment = places.placement[record];
  return `Readable by: ${compartment ? readersOfCompartment(places, compartment) : places.whole_group}`;
}

/** Where a record can be sent by `move-record`: everyone, only me, or one of the compartments this member is in. */
export function movePlaces(places: Places): { to: string; label: string }[] {
  return [
    { to: "group", label: places.whole_group },
    { to: "only me", label: places.only_me },
    ...places.compartments
      .filter((c) => !c.only_me)
      .map((c) => ({ to: c.id, label: readersOfCompartment(places, c.id) })),
  ];
}

/** Where a record lives now, as a `move-record` destination (so the Move form starts on the current place). */
export function placeOf(places: Places, record: string): string {
  const compartment = places.placement[record];
  if (!compartment) return "group";
  return places.compartments.find((c) => c.id === compartment)?.only_me ? "only me" : compartment;
}

/** A member's name by record id, or the words for someone no longer listed. */
export function memberName(view: GroupView, id: string | null): string {
  if (!id) return "nobody yet";
  return view.members.find((m) => m.id === id)?.name ?? "someone no longer listed";
}

/** Who a one-on-one was with: the member, the person in the base, or the name as written. */
export function withWhom(view: GroupView, one: OneOnOneView): string {
  if (one.with_member) return memberName(view, one.with_member);
  if (one.with_person) return view.people.find((p) => p.id === one.with_person)?.name ?? "someone in the base";
  return one.with_name || "someone";
}

/** Records newest first by a date field (ties keep their order). */
export function newestFirst<T>(records: T[], date: (record: T) => string): T[] {
  return [...records].sort((a, b) => date(b).localeCompare(date(a)));
}

/** A "YYYY-MM" month as people read it ("Nov 2026"). */
export function readableMonth(month: string): string {
  const parsed = new Date(`${month}-15T12:00:00`);
  if (Number.isNaN(parsed.getTime())) return month;
  return parsed.toLocaleDateString("en-GB", { month: "short", year: "numeric" });
}
