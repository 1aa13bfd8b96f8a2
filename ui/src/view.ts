// How records are arranged for reading: pure functions of the generated view types, tested with Vitest.
import type { ActionView } from "./bindings/ActionView";
import type { GroupView } from "./bindings/GroupView";
import type { MeetingView } from "./bindings/MeetingView";

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
 * Our unsaved typing, re-applied on top of a peer's edit that arrived meanwhile: `base` is the text both started
 * from, `ours` the box's text, `theirs` the text now in the group. Our change (one splice of `base`) is moved to
 * where its surroundings now are in `theirs`, so neither side's words are lost when ours is saved.
 */
export function rebaseTyping(base: string, ours: string, theirs: string): string {
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
