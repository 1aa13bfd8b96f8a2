// @vitest-environment happy-dom
// Screens against a fake backend: the same `makeBackend` the window uses, over an `invoke` that answers the
// generated `Request` type with the generated `Response` type, so a screen is tested on exactly what the
// application service would send it.
import { render } from "preact";
import { act as settle } from "preact/test-utils";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { GroupPage } from "./bindings/GroupPage";
import type { GroupView } from "./bindings/GroupView";
import type { MeetingView } from "./bindings/MeetingView";
import type { Request } from "./bindings/Request";
import type { Response } from "./bindings/Response";

const fake = vi.hoisted(() => ({
  requests: [] as unknown[],
  answer: (_request: unknown): unknown => {
    throw { kind: "storage", message: "The fake backend has no answer for that." };
  },
}));

vi.mock("./backend", async (original) => {
  const real = await original<typeof import("./backend")>();
  const invoke = async (command: string, args?: Record<string, unknown>) => {
    if (command !== "request") throw { kind: "storage", message: `The fake backend has no ${command}.` };
    fake.requests.push(args?.request);
    return fake.answer(args?.request);
  };
  return { ...real, backend: real.makeBackend(invoke as Parameters<typeof real.makeBackend>[0]) };
});

import { Members, Minutes } from "./App";
import { useAction } from "./parts";

/** The fake service: one typed answer per request. */
function answering(answer: (request: Request) => Response) {
  fake.requests = [];
  fake.answer = (request) => answer(request as Request);
}

const sent = () => fake.requests as Request[];

const meeting: MeetingView = {
  id: "m1".padEnd(32, "0"),
  date: "2026-11-20",
  title: "General meeting",
  kind: "regular",
  place: null,
  facilitator: null,
  note_taker: null,
  minutes: "Agenda.",
  agenda: [],
  attendance: [],
  conflicts: [],
};

const view: GroupView = {
  id: "ab".repeat(16),
  name: "Tenants",
  created: "2026-11-01",
  charter: { purpose: "", decision_rules: "", cadence: null, confidentiality: "", conflicts: [] },
  members: [
    { id: "ana", name: "Ana", status: "active", joined: null, kind: "app", sponsor: null, conflicts: [] },
    { id: "bea", name: "Bea", status: "active", joined: null, kind: "app", sponsor: null, conflicts: [] },
  ],
  devices: [
    { id: "d-ana", member: "ana", agreement_key: "", method: "founder", added: null, revoked: null, addresses: [] },
    { id: "d-bea", member: "bea", agreement_key: "", method: "in-person-qr", added: null, revoked: null, addresses: [] },
  ],
  roles: [],
  meetings: [meeting],
  decisions: [],
  actions: [],
  conflicts: [],
  unreadable: [],
  heads: ["h1"],
};

const page: GroupPage = {
  view,
  stewards: ["ana"],
  devices: { "d-ana": "ana", "d-bea": "bea" },
  safety_number: "12345 67890",
  relays: [],
  me: "d-ana",
  my_member: "ana",
  removable: [{ id: "bea", warning: "Bea keeps everything they could already read (from the service)." }],
  revocable: [],
  stewardable: ["bea"],
};

const ticks = async (n = 5) => {
  for (let i = 0; i < n; i++) await settle(async () => await new Promise((r) => setTimeout(r, 0)));
};

function mount(node: preact.ComponentChild): HTMLElement {
  const root = document.createElement("div");
  document.body.appendChild(root);
  render(node, root);
  return root;
}

/** Types `value` into the field `testid`, as a person would (an input event). */
async function typeInto(root: HTMLElement, testid: string, value: string) {
  const field = root.querySelector<HTMLInputElement | HTMLTextAreaElement>(`[data-testid="${testid}"]`);
  expect(field, testid).not.toBeNull();
  await settle(() => {
    if (field) {
      field.value = value;
      field.dispatchEvent(new Event("input", { bubbles: true }));
    }
  });
  return field;
}

afterEach(() => {
  document.body.innerHTML = "";
});

describe("the members screen", () => {
  it("offers removal only where the service allows it, with the service's warning, and sends the reason", async () => {
    answering((request) => {
      if (request.request === "group") return { outcome: "group", ...page };
      if (request.request === "remove-member") {
        return {
          outcome: "removed",
          member: request.member,
          name: "Bea",
          devices: 1,
          could_already_read: "What Bea could already read: everything.",
          message: "Removed Bea from the group (1 device).",
        };
      }
      throw { kind: "storage", message: "unexpected" };
    });
    let error = "";
    const act = useAction((text) => (error = text));
    const root = mount(<Members view={view} group={view.id} act={act} reload={async () => {}} me="d-ana" />);
    await ticks();
    expect(root.querySelector('[data-testid="remove-Ana"]')).toBeNull();
    const remove = root.querySelector<HTMLButtonElement>('[data-testid="remove-Bea"]');
    expect(remove).not.toBeNull();
    await settle(() => remove?.click());
    expect(root.textContent).toContain("Bea keeps everything they could already read (from the service).");
    await typeInto(root, "removal-reason", "shared the minutes");
    await settle(() => root.querySelector<HTMLButtonElement>('[data-testid="confirm-removal"]')?.click());
    await ticks();
    const removal = sent().find((r) => r.request === "remove-member");
    expect(removal).toEqual({ request: "remove-member", group: view.id, member: "bea", reason: "shared the minutes" });
    expect(root.querySelector('[data-testid="removal-notice"]')?.textContent).toBe("Removed Bea from the group (1 device).");
    expect(error).toBe("");
  });

  it("shows the service's refusal as the error sentence", async () => {
    answering((request) => {
      if (request.request === "group") return { outcome: "group", ...page };
      throw { kind: "refused", message: "Only a steward can remove a member." };
    });
    let error = "";
    const act = useAction((text) => (error = text));
    const root = mount(<Members view={view} group={view.id} act={act} reload={async () => {}} me="d-ana" />);
    await ticks();
    await settle(() => root.querySelector<HTMLButtonElement>('[data-testid="remove-Bea"]')?.click());
    await typeInto(root, "removal-reason", "x");
    await settle(() => root.querySelector<HTMLButtonElement>('[data-testid="confirm-removal"]')?.click());
    await ticks();
    expect(error).toBe("Only a steward can remove a member.");
    expect(root.querySelector('[data-testid="removal-notice"]')).toBeNull();
  });
});

describe("the minutes box", () => {
  it("saves what was typed with the heads it was typed on, and shows the text the model merged", async () => {
    answering((request) => {
      if (request.request === "set-minutes") {
        return { outcome: "minutes-saved", text: "Welcome. Agenda. Rent.", heads: ["h2"], message: "Minutes saved." };
      }
      throw { kind: "storage", message: "unexpected" };
    });
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const act = useAction(() => {});
    const root = mount(<Minutes group={view.id} meeting={meeting} heads={["h1"]} act={act} />);
    const box = await typeInto(root, "minutes", "Agenda. Rent.");
    await settle(async () => {
      vi.advanceTimersByTime(400);
    });
    vi.useRealTimers();
    await ticks();
    expect(sent()).toEqual([
      { request: "set-minutes", group: view.id, meeting: meeting.id, text: "Agenda. Rent.", base: ["h1"] },
    ]);
    expect(box?.value).toBe("Welcome. Agenda. Rent.");
  });
});

describe("calls that change records and show nothing", () => {
  it("resolve to null, which a screen tells from a failure (undefined)", async () => {
    const { makeBackend } = await vi.importActual<typeof import("./backend")>("./backend");
    const invoke = (async () => ({ outcome: "changed", heads: ["h2"], message: "Charter saved." })) as Parameters<typeof makeBackend>[0];
    const backend = makeBackend(invoke);
    expect(await backend.editCharter(view.id, { purpose: "Homes for all.", decision_rules: null, cadence: null, confidentiality: null })).toBeNull();
    expect(await backend.setActionDone(view.id, "a1", true)).toBeNull();
  });
});
