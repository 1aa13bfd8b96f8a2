// The one way the window reaches the app's backend. Every call is a Tauri command implemented in app/src/lib.rs
// as a one-line call into sunspace-api; every type comes from ./bindings, generated from the Rust types.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { ApiError } from "./bindings/ApiError";
import type { AppEvent } from "./bindings/AppEvent";
import type { CharterInput } from "./bindings/CharterInput";
import type { DeviceState } from "./bindings/DeviceState";
import type { Export } from "./bindings/Export";
import type { FlowStep } from "./bindings/FlowStep";
import type { GroupItem } from "./bindings/GroupItem";
import type { GroupView } from "./bindings/GroupView";
import type { InviteView } from "./bindings/InviteView";
import type { MinutesSaved } from "./bindings/MinutesSaved";
import type { NewActionInput } from "./bindings/NewActionInput";
import type { NewDecisionInput } from "./bindings/NewDecisionInput";
import type { NewMeetingInput } from "./bindings/NewMeetingInput";
import type { PassphraseCheck } from "./bindings/PassphraseCheck";
import type { RecordKind } from "./bindings/RecordKind";
import type { RoleInput } from "./bindings/RoleInput";
import type { SyncView } from "./bindings/SyncView";
import type { Vitality } from "./bindings/Vitality";

export const backend = {
  checkPassphrase: (passphrase: string) => invoke<PassphraseCheck>("check_passphrase", { passphrase }),
  device: () => invoke<DeviceState>("device"),
  createDevice: (name: string, passphrase: string) => invoke<DeviceState>("create_device", { name, passphrase }),
  unlock: (passphrase: string) => invoke<DeviceState>("unlock", { passphrase }),
  groups: () => invoke<GroupItem[]>("groups"),
  createGroup: (name: string) => invoke<GroupItem>("create_group", { name }),
  group: (group: string) => invoke<GroupView>("group", { group }),
  addMeeting: (group: string, meeting: NewMeetingInput) => invoke<string>("add_meeting", { group, meeting }),
  setMinutes: (group: string, meeting: string, text: string, base: string[]) =>
    invoke<MinutesSaved>("set_minutes", { group, meeting, text, base }),
  addAgendaItem: (group: string, meeting: string, title: string) =>
    invoke<string>("add_agenda_item", { group, meeting, title }),
  setAttendance: (group: string, meeting: string, member: string, present: boolean) =>
    invoke<void>("set_attendance", { group, meeting, member, present }),
  addGuest: (group: string, meeting: string, name: string, newFace: boolean) =>
    invoke<void>("add_guest", { group, meeting, name, newFace }),
  addDecision: (group: string, decision: NewDecisionInput) => invoke<string>("add_decision", { group, decision }),
  addAction: (group: string, action: NewActionInput) => invoke<string>("add_action", { group, action }),
  setActionDone: (group: string, action: string, done: boolean) =>
    invoke<void>("set_action_done", { group, action, done }),
  resolve: (group: string, kind: RecordKind, record: string, field: string, value: string) =>
    invoke<void>("resolve", { group, kind, record, field, value }),
  editCharter: (group: string, charter: CharterInput) => invoke<void>("edit_charter", { group, charter }),
  grantRole: (group: string, role: RoleInput) => invoke<string>("grant_role", { group, role }),
  endRole: (group: string, grant: string) => invoke<void>("end_role", { group, grant }),
  vitality: (group: string) => invoke<Vitality>("vitality", { group }),
  safetyNumber: (group: string) => invoke<string>("safety_number", { group }),
  removeMember: (group: string, member: string, reason: string) =>
    invoke<string>("remove_member", { group, member, reason }),
  decisionHistory: (group: string, decision: string) => invoke<string[]>("decision_history", { group, decision }),
  stewards: (group: string) => invoke<string[]>("stewards", { group }),
  setSteward: (group: string, member: string, steward: boolean) => invoke<string>("set_steward", { group, member, steward }),
  export: (group: string) => invoke<Export>("export", { group }),
  exportArchive: (group: string) => invoke<Export>("export_archive", { group }),
  revokeDevice: (group: string, device: string) => invoke<string>("revoke_device", { group, device }),
  sync: (group: string) => invoke<SyncView>("sync", { group }),
  addPeer: (address: string) => invoke<void>("add_peer", { address }),
  invite: (group: string, device: boolean) => invoke<InviteView>("invite", { group, device }),
  join: (code: string) => invoke<string>("join", { code }),
  flow: (flow: string) => invoke<FlowStep>("flow", { flow }),
  confirm: (flow: string, matched: boolean) => invoke<void>("confirm", { flow, matched }),
  onChanges: (callback: (events: AppEvent[]) => void): Promise<UnlistenFn> =>
    listen<AppEvent[]>("sunspace://changes", (event) => callback(event.payload)),
};

/** The sentence to show for a failed call: the backend's own sentence, never a dump. */
export function sentenceOf(error: unknown): string {
  const api = error as Partial<ApiError> | null;
  if (api && typeof api === "object" && typeof api.message === "string") return api.message;
  if (typeof error === "string" && error.length > 0 && error.length < 300) return error;
  return "Something went wrong. Nothing was changed.";
}
