// @vitest-environment happy-dom
// Screens against a fake backend: the same `makeBackend` the window uses, over an `invoke` that answers the
// generated `Request` type with the generated `Response` type, so a screen is tested on exactly what the
// application service would send it.
import { render } from "preact";
import { act as settle } from "preact/test-utils";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { CompartmentView } from "./bindings/CompartmentView";
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
  /** The app's other commands (the device's state), for a test of the whole window. */
  commands: {} as Record<string, unknown>,
}));

vi.mock("./backend", async (original) => {
  const real = await original<typeof import("./backend")>();
  const invoke = async (command: string, args?: Record<string, unknown>) => {
    if (command in fake.commands) return fake.commands[command];
    if (command !== "request") throw { kind: "storage", message: `The fake backend has no ${command}.` };
    fake.requests.push(args?.request);
    return fake.answer(args?.request);
  };
  const backend = real.makeBackend(invoke as Parameters<typeof real.makeBackend>[0]);
  // No Tauri event channel in tests: the window simply hears no change events.
  return { ...real, backend: { ...backend, onChanges: async () => () => {} } };
});

import { App, Members, Minutes } from "./App";
import { ListeningPage } from "./Listening";
import { useAction, WhereContext, type Where } from "./parts";
import { PatternsPage } from "./Patterns";
import { VitalityPage } from "./VitalityPage";
import type { Vitality } from "./bindings/Vitality";

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

/** A record id as the service makes them (hex), starting with `start` so its 8-character test ids are known. */
const hex = (start: string) => start.padEnd(32, "0");

const onlyMe: CompartmentView = {
  id: hex("0e0e0e0e"),
  name: "Only me",
  members: ["ana"],
  member_names: ["Ana"],
  only_me: true,
  readable_here: true,
  safety_number: "11111 22222",
};

const negotiation: CompartmentView = {
  id: hex("c0ffee00"),
  name: "Negotiation team",
  members: ["ana", "bea"],
  member_names: ["Ana", "Bea"],
  only_me: false,
  readable_here: true,
  safety_number: "33333 44444 55555",
};

const dee = hex("dee00000");
const oneOnOne = hex("0a0a0a0a");
const story = hex("5a5a5a5a");
const hiddenStory = hex("4a4a4a4a");
const pattern = hex("7a7a7a7a");

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
  people: [
    { id: dee, name: "Dee", place: "night shift", holder: "ana", stance: "undecided", became_member: null, added: "2026-11-02", conflicts: [] },
  ],
  one_on_ones: [
    {
      id: oneOnOne,
      with_member: null,
      with_person: dee,
      with_name: "",
      on: "2026-11-03",
      place: "parking lot",
      keeps_up_at_night: "The rota changes the night before.",
      wish_different: "Two weeks' notice.",
      others_who_share: "The whole night shift.",
      warmth: "warm",
      next_step: "Meet again with Sam",
      next_step_on: "2026-11-10",
      by: "ana",
      conflicts: [],
    },
  ],
  conversations: [{ id: hex("c1c1c1c1"), by: "ana", on: "2026-11-03", with_base: true, conflicts: [] }],
  stories: [
    { id: story, text: "We learn our shifts two days ahead.", told_by: null, from_one_on_one: oneOnOne, shared_by: "ana", shared_on: "2026-11-04", conflicts: [] },
  ],
  patterns: [
    {
      id: pattern,
      name: "Scheduling makes us invisible",
      named_on: "2026-11-20",
      named_at: meeting.id,
      state: "named",
      stories: [story, hiddenStory],
      meetings: [meeting.id],
      conversations: 3,
      description: "Nobody plans a life around a rota that changes overnight.",
      conflicts: [],
    },
  ],
  placement: { [oneOnOne]: onlyMe.id, [story]: negotiation.id, [hiddenStory]: hex("ffff0000") },
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
  compartments: [onlyMe, negotiation],
  all_compartments: { [onlyMe.id]: "Only me", [negotiation.id]: "Negotiation team", [hex("ffff0000")]: "Grievance committee" },
  devices_verified: [2, 2],
  readers: {
    [onlyMe.id]: "only you (your own devices)",
    [negotiation.id]: "Negotiation team (Ana and Bea)",
    [hex("ffff0000")]: "Grievance committee",
  },
  whole_group: "the whole group",
  only_me: "only you (your own devices)",
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

/** Picks `value` in the select `testid` (a change event). */
async function choose(root: HTMLElement, testid: string, value: string) {
  const field = root.querySelector<HTMLSelectElement>(`[data-testid="${testid}"]`);
  expect(field, testid).not.toBeNull();
  await settle(() => {
    if (field) {
      field.value = value;
      field.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });
}

/** Clicks the element `testid`. */
async function click(root: HTMLElement, testid: string) {
  const element = root.querySelector<HTMLElement>(`[data-testid="${testid}"]`);
  expect(element, testid).not.toBeNull();
  await settle(() => element?.click());
  await ticks();
}

const text = (root: HTMLElement, testid: string) => root.querySelector(`[data-testid="${testid}"]`)?.textContent ?? null;

/** What the group's screen gives every record's "who can read this" line. */
const where = (act: Where["act"]): Where => ({
  group: view.id,
  places: {
    placement: view.placement,
    compartments: page.compartments,
    all_compartments: page.all_compartments,
    readers: page.readers,
    whole_group: page.whole_group,
    only_me: page.only_me,
  },
  act,
  reload: async () => {},
});

const unexpected = (request: Request): never => {
  throw { kind: "storage", message: `unexpected ${request.request}` };
};

afterEach(() => {
  document.body.innerHTML = "";
  fake.commands = {};
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

describe("the listening page", () => {
  const mountListening = (answer: (request: Request) => Response, namePattern: (story: string) => void = () => {}) => {
    answering(answer);
    const errors: string[] = [];
    const act = useAction((text) => errors.push(text));
    const root = mount(
      <WhereContext.Provider value={where(act)}>
        <ListeningPage view={view} group={view.id} act={act} reload={async () => {}} places={where(act).places} namePattern={namePattern} />
      </WhereContext.Provider>,
    );
    return { root, errors };
  };

  it("records a one-on-one with every field, says where the notes stay, and shows the service's sentence", async () => {
    const message = "One-on-one recorded (0b0b0b0b). Its notes are readable only on your own devices; the group sees only that a conversation happened.";
    const { root, errors } = mountListening((request) =>
      request.request === "record-one-on-one" ? { outcome: "created", kind: "one_on_one", id: hex("0b0b0b0b"), heads: ["h2"], message } : unexpected(request),
    );
    expect(text(root, "one-on-one-privacy")).toBe("These notes stay on your own devices; the group sees only that a conversation happened.");
    await typeInto(root, "ooo-with", "Dee");
    await typeInto(root, "ooo-on", "2026-11-21");
    await typeInto(root, "ooo-place", "break room");
    await typeInto(root, "ooo-keeps", "Cancelled shifts, no pay.");
    await typeInto(root, "ooo-wish", "Pay for cancelled shifts.");
    await typeInto(root, "ooo-others", "Lee and Sam");
    await choose(root, "ooo-warmth", "close");
    await typeInto(root, "ooo-next", "Bring Lee");
    await typeInto(root, "ooo-next-on", "2026-11-28");
    await click(root, "record-one-on-one");
    expect(sent()).toEqual([
      {
        request: "record-one-on-one",
        group: view.id,
        one_on_one: {
          with: "Dee",
          on: "2026-11-21",
          place: "break room",
          keeps_up_at_night: "Cancelled shifts, no pay.",
          wish_different: "Pay for cancelled shifts.",
          others_who_share: "Lee and Sam",
          warmth: "close",
          next_step: "Bring Lee",
          next_step_on: "2026-11-28",
        },
      },
    ]);
    expect(text(root, "one-on-one-notice")).toBe(message);
    expect(errors.filter(Boolean)).toEqual([]);
  });

  it("lists this device's one-on-ones with who can read them, and shares a story from one to a compartment", async () => {
    const { root } = mountListening((request) =>
      request.request === "share-story"
        ? { outcome: "created", kind: "story", id: hex("6a6a6a6a"), heads: ["h2"], message: "Story shared (6a6a6a6a)." }
        : unexpected(request),
    );
    const item = text(root, `one-on-one-${oneOnOne.slice(0, 8)}`) ?? "";
    expect(item).toContain("with Dee");
    expect(item).toContain("The rota changes the night before.");
    expect(text(root, `readable-${oneOnOne.slice(0, 8)}`)).toBe("Readable by: only you (your own devices)");
    await click(root, `share-story-${oneOnOne.slice(0, 8)}`);
    await typeInto(root, "story-text", "They text us the rota at midnight.");
    await click(root, "story-named");
    await typeInto(root, "story-told-by", "someone on the night shift");
    await choose(root, "story-readers", negotiation.id);
    await click(root, "story-share");
    expect(sent()).toEqual([
      {
        request: "share-story",
        group: view.id,
        story: { text: "They text us the rota at midnight.", told_by: "someone on the night shift", from_one_on_one: oneOnOne, readers: negotiation.id },
      },
    ]);
    expect(text(root, "story-notice")).toBe("Story shared (6a6a6a6a).");
    expect(root.querySelector('[data-testid="story-form"]')).toBeNull();
  });

  it("leaves the teller anonymous unless asked, and the story for the whole group by default", async () => {
    const { root } = mountListening((request) =>
      request.request === "share-story" ? { outcome: "created", kind: "story", id: hex("6b"), heads: [], message: "Story shared (6b000000)." } : unexpected(request),
    );
    await click(root, `share-story-${oneOnOne.slice(0, 8)}`);
    await typeInto(root, "story-text", "Nobody asks us.");
    await click(root, "story-share");
    expect(sent()).toEqual([{ request: "share-story", group: view.id, story: { text: "Nobody asks us.", from_one_on_one: oneOnOne, readers: "group" } }]);
  });

  it("shows the stories with who can read them, and names a pattern from one", async () => {
    const named: string[] = [];
    const { root } = mountListening(unexpected, (s) => named.push(s));
    expect(text(root, `story-${story.slice(0, 8)}`)).toContain("We learn our shifts two days ahead.");
    expect(text(root, `story-${story.slice(0, 8)}`)).toContain("Told anonymously");
    expect(text(root, `readable-${story.slice(0, 8)}`)).toBe("Readable by: Negotiation team (Ana and Bea)");
    await click(root, `story-name-pattern-${story.slice(0, 8)}`);
    expect(named).toEqual([story]);
  });

  it("adds someone to the base and records that someone became a member", async () => {
    const { root } = mountListening((request) => {
      if (request.request === "add-person") return { outcome: "created", kind: "person", id: hex("e1"), heads: [], message: "Added to the base (e1000000)." };
      if (request.request === "edit-person") return { outcome: "changed", heads: [], message: "Updated." };
      return unexpected(request);
    });
    expect(text(root, "base-count")).toBe("1 person in the base; 0 became members.");
    expect(text(root, `person-${dee.slice(0, 8)}`)).toContain("relationship held by Ana");
    expect(text(root, `readable-${dee.slice(0, 8)}`)).toBe("Readable by: the whole group");
    await typeInto(root, "person-name", "Lee");
    await typeInto(root, "person-place", "loading dock");
    await choose(root, "person-holder", "bea");
    await choose(root, "person-stance", "supportive");
    await choose(root, "person-readers", negotiation.id);
    await click(root, "add-person");
    expect(text(root, "person-notice")).toBe("Added to the base (e1000000).");
    await choose(root, `person-stance-${dee.slice(0, 8)}`, "supportive");
    await choose(root, `person-became-${dee.slice(0, 8)}`, "bea");
    await click(root, `person-update-${dee.slice(0, 8)}`);
    expect(sent()).toEqual([
      { request: "add-person", group: view.id, person: { name: "Lee", place: "loading dock", holder: "bea", stance: "supportive", readers: negotiation.id } },
      { request: "edit-person", group: view.id, person: dee, changes: { stance: "supportive", became_member: "bea" } },
    ]);
    expect(text(root, "person-notice")).toBe("Updated.");
  });

  it("moves a record where the person chooses, and shows what the service says moving it means", async () => {
    const message = "The one-on-one is readable by Negotiation team from now on. Whoever could read it before may have kept what they read.";
    const { root } = mountListening((request) => (request.request === "move-record" ? { outcome: "changed", heads: [], message } : unexpected(request)));
    const id = oneOnOne.slice(0, 8);
    await click(root, `move-${id}`);
    expect(root.querySelector<HTMLSelectElement>(`[data-testid="move-to-${id}"]`)?.value).toBe("only me");
    await choose(root, `move-to-${id}`, negotiation.id);
    await click(root, `move-confirm-${id}`);
    expect(sent()).toEqual([{ request: "move-record", group: view.id, kind: "one_on_one", record: oneOnOne, to: negotiation.id }]);
    expect(text(root, `move-notice-${id}`)).toBe(message);
  });

  it("shows the service's refusal of a move as the error sentence", async () => {
    const { root, errors } = mountListening(() => {
      throw { kind: "refused", message: "You are in no compartment called \"x\"." };
    });
    await click(root, `move-${story.slice(0, 8)}`);
    await click(root, `move-confirm-${story.slice(0, 8)}`);
    expect(errors).toContain('You are in no compartment called "x".');
    expect(root.querySelector(`[data-testid="move-notice-${story.slice(0, 8)}"]`)).toBeNull();
  });
});

describe("the patterns page", () => {
  const mountPatterns = (answer: (request: Request) => Response, preselected?: string) => {
    answering(answer);
    const act = useAction(() => {});
    return mount(
      <WhereContext.Provider value={where(act)}>
        <PatternsPage view={view} group={view.id} act={act} reload={async () => {}} story={preselected} />
      </WhereContext.Provider>,
    );
  };

  it("names a pattern from the story it was opened with", async () => {
    const root = mountPatterns(
      (request) => (request.request === "name-pattern" ? { outcome: "created", kind: "pattern", id: hex("7b"), heads: [], message: "Pattern named (7b000000)." } : unexpected(request)),
      story,
    );
    expect(root.querySelector<HTMLInputElement>(`[data-testid="pattern-story-${story.slice(0, 8)}"]`)?.checked).toBe(true);
    await typeInto(root, "pattern-name", "Cancelled shifts cost us");
    await typeInto(root, "pattern-description", "Shifts cancelled without pay.");
    await choose(root, "pattern-meeting", meeting.id);
    await typeInto(root, "pattern-conversations", "4");
    await click(root, "name-pattern");
    expect(sent()).toEqual([
      {
        request: "name-pattern",
        group: view.id,
        pattern: { name: "Cancelled shifts cost us", description: "Shifts cancelled without pay.", meeting: meeting.id, stories: [story], conversations: 4 },
      },
    ]);
    expect(text(root, "pattern-notice")).toBe("Pattern named (7b000000).");
  });

  it("lists a pattern with its state, its stories (one this device cannot read), its meetings and who reads it", async () => {
    const root = mountPatterns(unexpected);
    const id = pattern.slice(0, 8);
    expect(text(root, `pattern-state-${id}`)).toBe("named");
    const stories = text(root, `pattern-stories-${id}`) ?? "";
    expect(stories).toContain("We learn our shifts two days ahead.");
    expect(stories).toContain("a story you cannot read here");
    expect(text(root, `pattern-meetings-${id}`)).toContain("General meeting");
    expect(text(root, `readable-${id}`)).toBe("Readable by: the whole group");
  });

  it("moves a pattern along and links a meeting, sending only what changed", async () => {
    const root = mountPatterns((request) => (request.request === "edit-pattern" ? { outcome: "changed", heads: [], message: "Pattern updated." } : unexpected(request)));
    const id = pattern.slice(0, 8);
    await choose(root, `pattern-state-select-${id}`, "researching");
    await click(root, `pattern-set-state-${id}`);
    expect(sent()).toEqual([{ request: "edit-pattern", group: view.id, pattern, changes: { state: "researching", add_stories: [], add_meetings: [] } }]);
    expect(text(root, "pattern-notice")).toBe("Pattern updated.");
    // Its story and meeting are linked already: nothing more to offer.
    expect(root.querySelector(`[data-testid="pattern-link-story-${id}"]`)).toBeNull();
    expect(root.querySelector(`[data-testid="pattern-link-meeting-${id}"]`)).toBeNull();
  });
});

describe("compartments on the members screen", () => {
  const mountMembers = (answer: (request: Request) => Response) => {
    answering((request) => (request.request === "group" ? { outcome: "group", ...page } : answer(request)));
    const act = useAction(() => {});
    return mount(<Members view={view} group={view.id} act={act} reload={async () => {}} me="d-ana" />);
  };

  it("lists the compartments this member is in, with members, safety number and only me marked", async () => {
    const root = mountMembers(unexpected);
    await ticks();
    const only = onlyMe.id.slice(0, 8);
    const team = negotiation.id.slice(0, 8);
    expect(text(root, `compartment-title-${team}`)).toBe("Negotiation team");
    expect(text(root, `compartment-members-${team}`)).toBe("Ana and Bea");
    expect(text(root, `compartment-safety-${team}`)).toBe("333334444455555");
    expect(root.querySelector(`[data-testid="compartment-only-me-${only}"]`)).not.toBeNull();
    expect(root.querySelector(`[data-testid="compartment-only-me-${team}"]`)).toBeNull();
    expect(text(root, "devices-verified")).toBe("2 of the group's 2 devices were verified in person.");
  });

  it("creates a compartment with the members ticked and shows who can read it", async () => {
    const message = "Stewards created. Only the devices of Ana and Bea can read what is placed in it.";
    const root = mountMembers((request) =>
      request.request === "create-compartment" ? { outcome: "compartment-created", id: hex("ab"), name: "Stewards", message } : unexpected(request),
    );
    await ticks();
    await typeInto(root, "compartment-name", "Stewards");
    await click(root, "compartment-member-Bea");
    await click(root, "create-compartment");
    expect(sent().filter((r) => r.request !== "group")).toEqual([{ request: "create-compartment", group: view.id, name: "Stewards", members: ["bea"] }]);
    expect(text(root, "compartment-notice")).toBe(message);
  });

  it("takes a member out of a compartment and says its key changed", async () => {
    const message = "Bea is out of Negotiation team. Its key was changed: Bea reads nothing written there from now on (what they read before, they may still remember).";
    const root = mountMembers((request) => (request.request === "remove-from-compartment" ? { outcome: "changed", heads: [], message } : unexpected(request)));
    await ticks();
    await click(root, `compartment-remove-${negotiation.id.slice(0, 8)}-Bea`);
    expect(sent().filter((r) => r.request !== "group")).toEqual([{ request: "remove-from-compartment", group: view.id, compartment: negotiation.id, member: "bea" }]);
    expect(text(root, "compartment-notice")).toBe(message);
  });

  it("adds a member to a compartment they are not in", async () => {
    const solo: CompartmentView = { ...negotiation, id: hex("5010"), name: "Research", members: ["ana"], member_names: ["Ana"] };
    answering((request) => {
      if (request.request === "group") return { outcome: "group", ...page, compartments: [solo] };
      if (request.request === "add-to-compartment") return { outcome: "changed", heads: [], message: "Bea is in Research now, and can read what was placed there before." };
      return unexpected(request);
    });
    const act = useAction(() => {});
    const root = mount(<Members view={view} group={view.id} act={act} reload={async () => {}} me="d-ana" />);
    await ticks();
    await click(root, `compartment-add-${solo.id.slice(0, 8)}`);
    expect(sent().filter((r) => r.request !== "group")).toEqual([{ request: "add-to-compartment", group: view.id, compartment: solo.id, member: "bea" }]);
    expect(text(root, "compartment-notice")).toBe("Bea is in Research now, and can read what was placed there before.");
  });
});

describe("the vitality page", () => {
  const vitality: Vitality = {
    as_of: "2026-11-22",
    meetings_held: 0,
    attendance: { per_meeting: [], history: [], recent_average: null, previous_average: null, change_percent: null },
    new_faces: { per_meeting: [], total: 0, came_back: 0, per_meeting_average: null },
    facilitation: { meetings: 0, meetings_with_role: 0, distinct_people: 0, top_count: 0, top_share: null },
    note_taking: { meetings: 0, meetings_with_role: 0, distinct_people: 0, top_count: 0, top_share: null },
    actions: { total: 0, done_on_time: 0, done_late: 0, overdue: 0, open: 0 },
    cadence: { cadence: null, window_start: null, expected: null, held: 0 },
    listening: {
      conversations_this_month: 4,
      conversations_by_month: [
        { month: "2026-06", count: 0 },
        { month: "2026-07", count: 1 },
        { month: "2026-08", count: 0 },
        { month: "2026-09", count: 2 },
        { month: "2026-10", count: 3 },
        { month: "2026-11", count: 4 },
      ],
      conversations_last_quarter: 9,
      conversations_quarter_a_year_before: 12,
      conversations_with_base: 5,
      people_in_base: 7,
      became_members: 2,
      patterns_named: 1,
      last_pattern_named: "2025-09-01",
      days_since_last_pattern: 447,
      replant: true,
    },
    verified_in_person_share: 0.75,
    summary: [],
  };

  it("shows the listening figures for the group, and the time to replant", async () => {
    answering((request) => (request.request === "vitality" ? { outcome: "vitality", ...vitality } : unexpected(request)));
    const act = useAction(() => {});
    const root = mount(<VitalityPage view={view} group={view.id} act={act} />);
    await ticks();
    expect(sent()).toEqual([{ request: "vitality", group: view.id }]);
    expect(text(root, "listening-this-month")).toBe("One-on-ones this month: 4");
    expect(text(root, "listening-base")).toContain("People in the base: 7, of whom 2 became members");
    expect(text(root, "listening-patterns")).toContain("447 days ago");
    expect(text(root, "verified-share")).toContain("75%");
    const trend = root.querySelectorAll('[data-testid="listening-trend"] tbody tr');
    expect([...trend].map((row) => row.querySelector("td")?.textContent)).toEqual(["0", "1", "0", "2", "3", "4"]);
    expect(text(root, "replant")).toContain("Time to replant: a new listening round.");
    // Group-level only: no member's name is on the page.
    expect(root.textContent).not.toContain("Ana");
  });

  it("says nothing about replanting when the figures do not call for it", async () => {
    answering((request) =>
      request.request === "vitality" ? { outcome: "vitality", ...vitality, listening: { ...vitality.listening, replant: false } } : unexpected(request),
    );
    const act = useAction(() => {});
    const root = mount(<VitalityPage view={view} group={view.id} act={act} />);
    await ticks();
    expect(root.querySelector('[data-testid="replant"]')).toBeNull();
  });
});

describe("the window", () => {
  it("shows every record's reader from the group's placement, on the meetings, listening and patterns pages", async () => {
    fake.commands = { device: { set_up: true, unlocked: true, name: "Ana", device: "d-ana" } };
    answering((request) => {
      if (request.request === "groups") return { outcome: "groups", groups: [{ id: view.id, name: view.name }], current: view.id };
      if (request.request === "group") return { outcome: "group", ...page };
      if (request.request === "sync") return { outcome: "sync", online: false, summary: "No peer in reach.", peers: [], waiting: 0, receiving: null, integrity: [] };
      return unexpected(request);
    });
    const root = mount(<App />);
    await ticks(10);
    expect(text(root, "group-title")).toBe("Tenants");
    expect(text(root, `readable-${meeting.id.slice(0, 8)}`)).toBe("Readable by: the whole group");
    await click(root, "nav-listening");
    expect(root.querySelector('[data-testid="nav-listening"]')?.getAttribute("aria-current")).toBe("page");
    expect(text(root, `readable-${oneOnOne.slice(0, 8)}`)).toBe("Readable by: only you (your own devices)");
    expect(text(root, `readable-${story.slice(0, 8)}`)).toBe("Readable by: Negotiation team (Ana and Bea)");
    await click(root, `story-name-pattern-${story.slice(0, 8)}`);
    expect(root.querySelector('[data-testid="nav-patterns"]')?.getAttribute("aria-current")).toBe("page");
    expect(root.querySelector<HTMLInputElement>(`[data-testid="pattern-story-${story.slice(0, 8)}"]`)?.checked).toBe(true);
    expect(text(root, `pattern-stories-${pattern.slice(0, 8)}`)).toContain("a story you cannot read here");
    render(null, root);
  });
});
