// The one way the window reaches the app's backend. Every call is a Tauri command implemented in app/src/lib.rs
// as a one-line call into sunspace-api; every type comes from ./bindings, generated from the Rust types.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { ActionInput } from "./bindings/ActionInput";
import type { ApiError } from "./bindings/ApiError";
import type { AppEvent } from "./bindings/AppEvent";
import type { CharterInput } from "./bindings/CharterInput";
import type { DecisionInput } from "./bindings/DecisionInput";
import type { DeviceState } from "./bindings/DeviceState";
import type { Export } from "./bindings/Export";
import type { ExportFormat } from "./bindings/ExportFormat";
import type { FlowStep } from "./bindings/FlowStep";
import type { InviteView } from "./bindings/InviteView";
import type { MeetingInput } from "./bindings/MeetingInput";
import type { OneOnOneInput } from "./bindings/OneOnOneInput";
import type { PassphraseCheck } from "./bindings/PassphraseCheck";
import type { PatternChanges } from "./bindings/PatternChanges";
import type { PatternInput } from "./bindings/PatternInput";
import type { PersonChanges } from "./bindings/PersonChanges";
import type { PersonInput } from "./bindings/PersonInput";
import type { RecordKind } from "./bindings/RecordKind";
import type { Request } from "./bindings/Request";
import type { Response } from "./bindings/Response";
import type { RoleInput } from "./bindings/RoleInput";
import type { StoryInput } from "./bindings/StoryInput";

/** A Tauri command call: the app's `invoke`, or a fake in tests. */
export type Invoke = <T>(command: string, args?: Record<string, unknown>) => Promise<T>;

/** The response of one outcome. */
export type Outcome<K extends Response["outcome"]> = Extract<Response, { outcome: K }>;

/** Minutes as the group holds them after a save, and the version they are. */
export type MinutesSaved = Outcome<"minutes-saved">;

/**
 * The window's calls. Almost all are one `request` to the application service (the same `Request` the CLI sends
 * to `serve`), unwrapped to the outcome the screen expects; unlocking, invitations and saving exports have their
 * own commands.
 */
export function makeBackend(call: Invoke) {
  const ask = <K extends Response["outcome"]>(request: Request, outcome: K): Promise<Outcome<K>> =>
    call<Response>("request", { request }).then((response) => {
      if (response.outcome !== outcome) {
        const error: ApiError = { kind: "storage", message: "The app answered out of turn; nothing was shown." };
        throw error;
      }
      return response as Outcome<K>;
    });
  const message = (response: { message: string }) => response.message;
  const created = (response: Outcome<"created">) => response.id;
  // A change with nothing to show resolves to null (as a Tauri command returning nothing does), so a screen can
  // tell it from a failure, which `act` turns into undefined.
  const nothing = () => null;
  return {
    checkPassphrase: (passphrase: string) => call<PassphraseCheck>("check_passphrase", { passphrase }),
    device: () => call<DeviceState>("device"),
    createDevice: (name: string, passphrase: string) => call<DeviceState>("create_device", { name, passphrase }),
    unlock: (passphrase: string) => call<DeviceState>("unlock", { passphrase }),
    groups: () => ask({ request: "groups" }, "groups").then((r) => r.groups),
    createGroup: (name: string) => ask({ request: "create-group", name }, "group-chosen").then((r) => r.group),
    group: (group: string) => ask({ request: "group", group }, "group").then((r) => r.view),
    /** The group with what only the signed membership knows: stewards, the safety number, what may be done. */
    page: (group: string) => ask({ request: "group", group }, "group"),
    addMeeting: (group: string, meeting: MeetingInput) =>
      ask({ request: "add-meeting", group, meeting }, "created").then(created),
    setMinutes: (group: string, meeting: string, text: string, base: string[]) =>
      ask({ request: "set-minutes", group, meeting, text, base }, "minutes-saved"),
    addAgendaItem: (group: string, meeting: string, title: string) =>
      ask({ request: "add-agenda-item", group, meeting, title }, "created").then(created),
    setAttendance: (group: string, meeting: string, member: string, present: boolean) =>
      ask({ request: "set-present", group, meeting, member, present }, present ? "attended" : "changed").then(nothing),
    addGuest: (group: string, meeting: string, name: string, newFace: boolean) =>
      ask({ request: "add-attendance", group, meeting, who: name, new_face: newFace, guest: true }, "attended").then(nothing),
    addDecision: (group: string, decision: DecisionInput) =>
      ask({ request: "add-decision", group, decision }, "created").then(created),
    addAction: (group: string, action: ActionInput) => ask({ request: "add-action", group, action }, "created").then(created),
    setActionDone: (group: string, action: string, done: boolean) =>
      ask({ request: "set-action-done", group, action, done }, "changed").then(nothing),
    resolve: (group: string, kind: RecordKind, record: string, field: string, value: string) =>
      ask({ request: "resolve", group, kind, record, field, keep: { by: "value", keep: value } }, "changed").then(nothing),
    editCharter: (group: string, charter: CharterInput) =>
      ask({ request: "edit-charter", group, charter }, "changed").then(nothing),
    grantRole: (group: string, role: RoleInput) => ask({ request: "grant-role", group, role }, "created").then(created),
    endRole: (group: string, grant: string) => ask({ request: "end-role", group, grant }, "changed").then(nothing),
    vitality: (group: string) => ask({ request: "vitality", group }, "vitality"),
    safetyNumber: (group: string) => ask({ request: "group", group }, "group").then((r) => r.safety_number),
    removeMember: (group: string, member: string, reason: string) =>
      ask({ request: "remove-member", group, member, reason }, "removed").then(message),
    decisionHistory: (group: string, decision: string) =>
      ask({ request: "decision-history", group, decision }, "history").then((r) => r.sentences),
    stewards: (group: string) => ask({ request: "group", group }, "group").then((r) => r.stewards),
    setSteward: (group: string, member: string, steward: boolean) =>
      ask({ request: "set-steward", group, member, steward }, "steward").then(message),
    export: (group: string) => call<Export>("export", { group, format: "markdown" satisfies ExportFormat }),
    exportArchive: (group: string) => call<Export>("export", { group, format: "json" satisfies ExportFormat }),
    saveRecords: (group: string) => call<Export>("save_records", { group }),
    loadRecords: (bytes: Uint8Array) =>
      ask({ request: "carry-import", bytes: Array.from(bytes) }, "carried").then(message),
    revokeDevice: (group: string, device: string) =>
      ask({ request: "revoke-device", group, device }, "revoked").then(message),
    sync: (group: string) => ask({ request: "sync", group }, "sync"),
    addPeer: (address: string) => ask({ request: "add-peer", address }, "done").then(nothing),
    invite: (group: string, device: boolean) => call<InviteView>("invite", { group, device }),
    join: (code: string) => call<string>("join", { code }),
    flow: (flow: string) => call<FlowStep>("flow", { flow }),
    confirm: (flow: string, matched: boolean) => call<void>("confirm", { flow, matched }),
    // Listening and compartments: each answers with the service's sentence, which the screen shows as it is.
    recordOneOnOne: (group: string, one_on_one: OneOnOneInput) =>
      ask({ request: "record-one-on-one", group, one_on_one }, "created").then(message),
    shareStory: (group: string, story: StoryInput) => ask({ request: "share-story", group, story }, "created").then(message),
    addPerson: (group: string, person: PersonInput) => ask({ request: "add-person", group, person }, "created").then(message),
    editPerson: (group: string, person: string, changes: PersonChanges) =>
      ask({ request: "edit-person", group, person, changes }, "changed").then(message),
    namePattern: (group: string, pattern: PatternInput) =>
      ask({ request: "name-pattern", group, pattern }, "created").then(message),
    editPattern: (group: string, pattern: string, changes: PatternChanges) =>
      ask({ request: "edit-pattern", group, pattern, changes }, "changed").then(message),
    createCompartment: (group: string, name: string, members: string[]) =>
      ask({ request: "create-compartment", group, name, members }, "compartment-created").then(message),
    addToCompartment: (group: string, compartment: string, member: string) =>
      ask({ request: "add-to-compartment", group, compartment, member }, "changed").then(message),
    removeFromCompartment: (group: string, compartment: string, member: string) =>
      ask({ request: "remove-from-compartment", group, compartment, member }, "changed").then(message),
    /** Moves a record: `to` is a compartment's id or name, `only me`, or `group` for everyone. */
    moveRecord: (group: string, kind: RecordKind, record: string, to: string) =>
      ask({ request: "move-record", group, kind, record, to }, "changed").then(message),
    onChanges: (callback: (events: AppEvent[]) => void): Promise<UnlistenFn> =>
      listen<AppEvent[]>("sunspace://changes", (event) => callback(event.payload)),
  };
}

/** What the window calls. */
export type Backend = ReturnType<typeof makeBackend>;

export const backend: Backend = makeBackend(invoke);

/** The sentence to show for a failed call: the backend's own sentence, never a dump. */
export function sentenceOf(error: unknown): string {
  const api = error as Partial<ApiError> | null;
  if (api && typeof api === "object" && typeof api.message === "string") return api.message;
  if (typeof error === "string" && error.length > 0 && error.length < 300) return error;
  return "Something went wrong. Nothing was changed.";
}
