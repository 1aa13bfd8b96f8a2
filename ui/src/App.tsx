// The window: which screen shows, and the forms on each. It decides nothing about the records: every change is
// one call through ./backend, and every sentence about a failure comes from the backend.
import { useEffect, useRef, useState } from "preact/hooks";
import { backend } from "./backend";
import { CharterPage } from "./Charter";
import { Compartments } from "./Compartments";
import { ListeningPage } from "./Listening";
import { Conflicts, ErrorLine, Readable, Section, useAction, WhereContext, type Act } from "./parts";
import { PatternsPage } from "./Patterns";
import { Scanner } from "./Scanner";
import { VitalityPage } from "./VitalityPage";
import type { DecisionMethod } from "./bindings/DecisionMethod";
import type { DeviceState } from "./bindings/DeviceState";
import type { Export } from "./bindings/Export";
import type { FlowStep } from "./bindings/FlowStep";
import type { GroupItem } from "./bindings/GroupItem";
import type { GroupPage } from "./bindings/GroupPage";
import type { GroupView } from "./bindings/GroupView";
import type { InviteView } from "./bindings/InviteView";
import type { MeetingView } from "./bindings/MeetingView";
import type { PassphraseCheck } from "./bindings/PassphraseCheck";
import type { SyncView } from "./bindings/SyncView";
import { actionsByUrgency, groupedDigits, isPresent, keepCaret, meetingsNewestFirst, needsReload, readableDate, carryTyping, todayText } from "./view";

type Page =
  | { kind: "meetings" }
  | { kind: "meeting"; id: string }
  | { kind: "actions" }
  | { kind: "listening" }
  | { kind: "patterns"; story?: string }
  | { kind: "members" }
  | { kind: "charter" }
  | { kind: "vitality" }
  | { kind: "invite" }
  | { kind: "join" }
  | { kind: "export" };

export function App() {
  const [device, setDevice] = useState<DeviceState | null>(null);
  const [groups, setGroups] = useState<GroupItem[]>([]);
  const [group, setGroup] = useState<string | null>(null);
  const [page, setPage] = useState<Page>({ kind: "meetings" });
  const [error, setError] = useState("");
  const act = useAction(setError);

  useEffect(() => {
    void act.read(() => backend.device()).then((state) => state && setDevice(state));
  }, []);

  const loadGroups = async () => {
    const list = await act.read(() => backend.groups());
    if (list) {
      setGroups(list);
      if (!group && list.length > 0) setGroup(list[0].id);
    }
  };
  useEffect(() => {
    if (device?.unlocked) void loadGroups();
  }, [device?.unlocked]);

  if (!device) return <main class="center">Opening Sunspace…</main>;
  if (!device.set_up) return <Welcome onReady={setDevice} />;
  if (!device.unlocked) return <Unlock onReady={setDevice} />;
  if (page.kind === "join") {
    return (
      <Join
        onDone={(joined) => {
          if (joined) setGroup(joined);
          setPage({ kind: "meetings" });
          void loadGroups();
        }}
      />
    );
  }
  if (!group) {
    return (
      <NoGroup
        onCreated={(item) => {
          setGroups([...groups, item]);
          setGroup(item.id);
        }}
        onJoin={() => setPage({ kind: "join" })}
      />
    );
  }
  return (
    <GroupScreen
      key={group}
      group={group}
      groups={groups}
      page={page}
      setPage={setPage}
      setGroup={setGroup}
      error={error}
      setError={setError}
      me={device.device}
    />
  );
}

function Welcome({ onReady }: { onReady: (state: DeviceState) => void }) {
  const [name, setName] = useState("");
  const [passphrase, setPassphrase] = useState("");
  const [again, setAgain] = useState("");
  const [check, setCheck] = useState<PassphraseCheck | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const act = useAction(setError);
  useEffect(() => {
    void backend.checkPassphrase(passphrase).then(setCheck, () => setCheck(null));
  }, [passphrase]);
  const submit = async (event: Event) => {
    event.preventDefault();
    if (passphrase !== again) return setError("The two passphrases differ.");
    setBusy(true);
    const state = await act(() => backend.createDevice(name, passphrase));
    setBusy(false);
    if (state) onReady(state);
  };
  return (
    <main class="narrow">
      <h1>Welcome to Sunspace</h1>
      <p>Your group's records stay on your members' own devices, encrypted. No server holds them.</p>
      <form onSubmit={submit}>
        <label>
          Your name, as your group knows you
          <input data-testid="name" value={name} onInput={(e) => setName(e.currentTarget.value)} required />
        </label>
        <label>
          A passphrase for this device
          <input data-testid="passphrase" type="password" value={passphrase} onInput={(e) => setPassphrase(e.currentTarget.value)} />
        </label>
        {passphrase && check && (
          <p class={`strength ${check.strength}`} data-testid="strength">
            {check.hint}
          </p>
        )}
        <label>
          The same passphrase again
          <input data-testid="passphrase-again" type="password" value={again} onInput={(e) => setAgain(e.currentTarget.value)} />
        </label>
        <p class="warning">
          If you forget this passphrase, nobody can recover what is on this device — not your group, not us. Write it
          down somewhere safe.
        </p>
        <button data-testid="setup" disabled={busy || !check?.acceptable}>
          {busy ? "Setting up…" : "Set up this device"}
        </button>
      </form>
      <ErrorLine text={error} />
    </main>
  );
}

function Unlock({ onReady }: { onReady: (state: DeviceState) => void }) {
  const [passphrase, setPassphrase] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const act = useAction(setError);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    const state = await act(() => backend.unlock(passphrase));
    setBusy(false);
    if (state) onReady(state);
  };
  return (
    <main class="narrow">
      <h1>Unlock Sunspace</h1>
      <form onSubmit={submit}>
        <label>
          Passphrase
          <input data-testid="passphrase" type="password" value={passphrase} onInput={(e) => setPassphrase(e.currentTarget.value)} autoFocus />
        </label>
        <button data-testid="unlock" disabled={busy}>{busy ? "Unlocking…" : "Unlock"}</button>
      </form>
      <ErrorLine text={error} />
    </main>
  );
}

function NoGroup({ onCreated, onJoin }: { onCreated: (item: GroupItem) => void; onJoin: () => void }) {
  const [name, setName] = useState("");
  const [error, setError] = useState("");
  const act = useAction(setError);
  const submit = async (event: Event) => {
    event.preventDefault();
    const item = await act(() => backend.createGroup(name));
    if (item) onCreated(item);
  };
  return (
    <main class="narrow">
      <h1>Start or join a group</h1>
      <form onSubmit={submit}>
        <label>
          The group's name
          <input data-testid="group-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <button data-testid="create-group">Create the group</button>
      </form>
      <p>Or, if someone in your group is here with you:</p>
      <button class="secondary" data-testid="go-join" onClick={onJoin}>
        Join their group
      </button>
      <ErrorLine text={error} />
    </main>
  );
}

interface ScreenProps {
  group: string;
  groups: GroupItem[];
  page: Page;
  setPage: (page: Page) => void;
  setGroup: (group: string) => void;
  error: string;
  setError: (text: string) => void;
  /** This device's id (hex). */
  me: string | null;
}

function GroupScreen({ group, groups, page, setPage, setGroup, error, setError, me }: ScreenProps) {
  const [view, setView] = useState<GroupView | null>(null);
  // The group as the service shows it (read once per change): the view, what this device may do to whom, and
  // where records live, for every record's "who can read this" line.
  const [groupPage, setGroupPage] = useState<GroupPage | null>(null);
  const places = {
    compartments: groupPage?.compartments ?? [],
    all_compartments: groupPage?.all_compartments ?? {},
    readers: groupPage?.readers ?? {},
    whole_group: groupPage?.whole_group ?? "the whole group",
    only_me: groupPage?.only_me ?? "only you (your own devices)",
  };
  const [sync, setSync] = useState<SyncView | null>(null);
  const [flowTick, setFlowTick] = useState(0);
  const act = useAction(setError);
  // The heads of the version shown: the echo of this window's own edit, already reloaded, is skipped.
  const shown = useRef<string[]>([]);
  const reload = async () => {
    const next = await act.read(() => backend.page(group));
    if (next) {
      shown.current = next.view.heads;
      setGroupPage(next);
      setView(next.view);
    }
  };
  const reloadSync = async () => {
    try {
      setSync(await backend.sync(group));
    } catch {
      /* the badge keeps its last state */
    }
  };
  useEffect(() => {
    void reload();
    void reloadSync();
    const timer = setInterval(() => void reloadSync(), 5000);
    const stop = backend.onChanges((events) => {
      if (needsReload(events, group, shown.current)) void reload();
      if (events.some((e) => e.kind === "changed" || e.kind === "peers")) void reloadSync();
      if (events.some((e) => e.kind === "flow")) setFlowTick((n) => n + 1);
    });
    return () => {
      clearInterval(timer);
      void stop.then((unlisten) => unlisten());
    };
  }, [group]);
  if (!view) return <main class="center">Opening the group…</main>;
  const nav = (target: Page, label: string, id: string) => (
    <button
      class={page.kind === target.kind ? "tab active" : "tab"}
      data-testid={`nav-${id}`}
      aria-current={page.kind === target.kind ? "page" : undefined}
      onClick={() => setPage(target)}
    >
      {label}
    </button>
  );
  return (
    <div class="layout">
      <header>
        <div class="title">
          <h1 data-testid="group-title">{view.name}</h1>
          {groups.length > 1 && (
            <select aria-label="Group" value={group} onChange={(e) => setGroup(e.currentTarget.value)}>
              {groups.map((g) => (
                <option value={g.id}>{g.name}</option>
              ))}
            </select>
          )}
        </div>
        {sync && (
          <div class={sync.online ? "badge online" : "badge offline"} data-testid="sync-badge" title={sync.summary}>
            <strong>{sync.online ? "Online" : "Offline"}</strong> <span>{sync.summary}</span>
          </div>
        )}
        {sync && sync.integrity.length > 0 && (
          <ul class="integrity" role="alert" data-testid="integrity">
            {sync.integrity.map((sentence) => (
              <li>{sentence}</li>
            ))}
          </ul>
        )}
        {sync?.receiving && (
          <div class="receiving" role="status" data-testid="receiving">
            <label>
              {sync.receiving.summary}
              <progress value={sync.receiving.held} max={sync.receiving.total} />
            </label>
          </div>
        )}
        <nav aria-label="Sections">
          {nav({ kind: "meetings" }, "Meetings", "meetings")}
          {nav({ kind: "actions" }, "Actions", "actions")}
          {nav({ kind: "listening" }, "Listening", "listening")}
          {nav({ kind: "patterns" }, "Patterns", "patterns")}
          {nav({ kind: "members" }, "Members", "members")}
          {nav({ kind: "charter" }, "Charter & roles", "charter")}
          {nav({ kind: "vitality" }, "Vitality", "vitality")}
          {nav({ kind: "invite" }, "Invite in person", "invite")}
          {nav({ kind: "export" }, "Export", "export")}
        </nav>
      </header>
      <ErrorLine text={error} />
      <WhereContext.Provider value={{ group, places: { placement: view.placement, ...places }, act, reload }}>
      <main>
        {page.kind === "meetings" && <Meetings view={view} group={group} open={(id) => setPage({ kind: "meeting", id })} act={act} reload={reload} />}
        {page.kind === "meeting" && <Meeting view={view} group={group} id={page.id} act={act} reload={reload} back={() => setPage({ kind: "meetings" })} />}
        {page.kind === "actions" && <Actions view={view} group={group} act={act} reload={reload} />}
        {page.kind === "listening" && (
          <ListeningPage view={view} group={group} act={act} reload={reload} places={{ placement: view.placement, ...places }} namePattern={(story) => setPage({ kind: "patterns", story })} />
        )}
        {page.kind === "patterns" && <PatternsPage key={page.story ?? ""} view={view} group={group} act={act} reload={reload} story={page.story} />}
        {page.kind === "members" && <Members view={view} group={group} act={act} reload={reload} me={me} page={groupPage} />}
        {page.kind === "charter" && <CharterPage view={view} group={group} act={act} reload={reload} />}
        {page.kind === "vitality" && <VitalityPage view={view} group={group} act={act} />}
        {page.kind === "invite" && <Invite group={group} act={act} tick={flowTick} />}
        {page.kind === "export" && <ExportPage group={group} act={act} />}
      </main>
      </WhereContext.Provider>
    </div>
  );
}

function Meetings({ view, group, open, act, reload }: { view: GroupView; group: string; open: (id: string) => void; act: Act; reload: () => Promise<void> }) {
  const [title, setTitle] = useState("");
  const [date, setDate] = useState(todayText());
  const add = async (event: Event) => {
    event.preventDefault();
    const id = await act(() => backend.addMeeting(group, { date, title }));
    if (id) {
      setTitle("");
      await reload();
      open(id);
    }
  };
  const meetings = meetingsNewestFirst(view);
  return (
    <>
      <Section title="Add a meeting">
        <form class="row" onSubmit={add}>
          <label>
            Title <input data-testid="meeting-title" value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
          </label>
          <label>
            Date <input type="date" data-testid="meeting-date" value={date} onInput={(e) => setDate(e.currentTarget.value)} />
          </label>
          <button data-testid="add-meeting">Add meeting</button>
        </form>
      </Section>
      <Section title="Meetings">
        {meetings.length === 0 && <p>No meetings yet.</p>}
        <ul class="list" data-testid="meeting-list">
          {meetings.map((m) => (
            <li key={m.id}>
              <button class="link" onClick={() => open(m.id)}>
                <span class="date">{readableDate(m.date)}</span> {m.title}
              </button>
              <span class="muted"> · {m.attendance.length} present</span>
              <Readable kind="meeting" record={m.id} />
            </li>
          ))}
        </ul>
      </Section>
    </>
  );
}

export function Minutes({ group, meeting, heads, act }: { group: string; meeting: MeetingView; heads: string[]; act: Act }) {
  const area = useRef<HTMLTextAreaElement>(null);
  const [text, setText] = useState(meeting.minutes);
  // The version the box's text was typed on (the group's minutes then, and the heads naming that version), and
  // what the box holds now (typed, maybe not yet saved). Merging typing with what others wrote meanwhile is the
  // backend's job: a save names the version it was typed on, and the box shows what the group then holds.
  const base = useRef({ text: meeting.minutes, heads });
  const latest = useRef(meeting.minutes);
  const saving = useRef(false);
  const timer = useRef<number | undefined>(undefined);
  const show = (value: string) => {
    latest.current = value;
    setText(value);
  };
  // Shows the group's text in place of the box's, keeping the caret on the words it was on.
  const replaceKeepingCaret = (value: string) => {
    const box = area.current;
    const before = latest.current;
    const caret = box?.selectionStart ?? before.length;
    show(value);
    requestAnimationFrame(() => {
      const at = keepCaret(before, value, caret);
      if (box && document.activeElement === box) box.setSelectionRange(at, at);
    });
  };
  const saveSoon = () => {
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => void save(), 300);
  };
  const save = async () => {
    // One save at a time: each names the version it was typed on, which the previous one's answer gives.
    if (saving.current) return saveSoon();
    const sent = latest.current;
    if (sent === base.current.text) return;
    saving.current = true;
    const saved = await act(() => backend.setMinutes(group, meeting.id, sent, base.current.heads));
    saving.current = false;
    if (!saved) return;
    base.current = { text: saved.text, heads: saved.heads };
    if (latest.current === sent) {
      // Others' words merged in: show them, and type on from there.
      if (saved.text !== sent) replaceKeepingCaret(saved.text);
    } else {
      // Typed meanwhile: carry those keystrokes onto the merged text, and save them next, typed on it.
      replaceKeepingCaret(carryTyping(sent, latest.current, saved.text));
      saveSoon();
    }
  };
  // A new view (a peer's edit, or this window's own save coming back): with nothing unsaved in the box, show it
  // and type on it from now on; with unsaved typing, leave the box alone: its next save is merged with this.
  useEffect(() => {
    if (latest.current !== base.current.text) return;
    base.current = { text: meeting.minutes, heads };
    if (meeting.minutes !== latest.current) replaceKeepingCaret(meeting.minutes);
  }, [meeting.minutes, heads.join(",")]);
  return (
    <textarea
      ref={area}
      data-testid="minutes"
      aria-label="Minutes"
      rows={10}
      value={text}
      onInput={(e) => {
        show(e.currentTarget.value);
        saveSoon();
      }}
    />
  );
}

const METHODS: DecisionMethod[] = ["consensus", "consent", "majority", "supermajority", "advice"];

function Meeting({ view, group, id, act, reload, back }: { view: GroupView; group: string; id: string; act: Act; reload: () => Promise<void>; back: () => void }) {
  const meeting = view.meetings.find((m) => m.id === id);
  const [agendaItem, setAgendaItem] = useState("");
  const [guest, setGuest] = useState("");
  const [newFace, setNewFace] = useState(true);
  const [decision, setDecision] = useState("");
  const [method, setMethod] = useState<DecisionMethod>("consensus");
  const [outcome, setOutcome] = useState("");
  const [action, setAction] = useState("");
  const [owner, setOwner] = useState("");
  const [due, setDue] = useState("");
  if (!meeting) return <p>This meeting is not in the group any more.</p>;
  const decisions = view.decisions.filter((d) => d.meeting === id);
  const actions = view.actions.filter((a) => a.meeting === id);
  const guests = meeting.attendance.filter((a) => a.who.kind === "guest");
  const run = async (call: () => Promise<unknown>, clear: () => void) => {
    const done = await act(call);
    if (done !== undefined) {
      clear();
      await reload();
    }
  };
  return (
    <article data-testid="meeting-page">
      <button class="link" onClick={back}>
        ← All meetings
      </button>
      <h2 data-testid="meeting-heading">
        {meeting.title} <span class="muted">{readableDate(meeting.date)}</span>
      </h2>
      <Readable kind="meeting" record={meeting.id} />
      <Conflicts view={view} group={group} kind="meeting" record={meeting.id} conflicts={meeting.conflicts} act={act} reload={reload} />
      <Section title="Agenda">
        <ol>
          {meeting.agenda.map((item) => (
            <li>{item.title}</li>
          ))}
        </ol>
        <form class="row" onSubmit={(e) => { e.preventDefault(); void run(() => backend.addAgendaItem(group, id, agendaItem), () => setAgendaItem("")); }}>
          <input aria-label="New agenda item" placeholder="New agenda item" value={agendaItem} onInput={(e) => setAgendaItem(e.currentTarget.value)} />
          <button class="secondary">Add</button>
        </form>
      </Section>
      <Section title="Minutes">
        <p class="muted">Everyone's edits merge; what others type appears here as it arrives.</p>
        <Minutes group={group} meeting={meeting} heads={view.heads} act={act} />
      </Section>
      <Section title="Attendance">
        <ul class="checks" data-testid="attendance">
          {view.members.filter((m) => m.status === "active").map((m) => (
            <li>
              <label>
                <input
                  type="checkbox"
                  data-testid={`present-${m.name}`}
                  checked={isPresent(meeting, m.id)}
                  onChange={(e) => void run(() => backend.setAttendance(group, id, m.id, e.currentTarget.checked), () => {})}
                />{" "}
                {m.name}
              </label>
            </li>
          ))}
          {guests.map((g) => (
            <li>
              {g.who.id} {g.new_face ? <span class="tag">new face</span> : <span class="tag">guest</span>}
            </li>
          ))}
        </ul>
        <form class="row" onSubmit={(e) => { e.preventDefault(); void run(() => backend.addGuest(group, id, guest, newFace), () => setGuest("")); }}>
          <input aria-label="Guest or new face" placeholder="Guest or new face" value={guest} onInput={(e) => setGuest(e.currentTarget.value)} />
          <label>
            <input type="checkbox" checked={newFace} onChange={(e) => setNewFace(e.currentTarget.checked)} /> first time here
          </label>
          <button class="secondary">Add</button>
        </form>
      </Section>
      <Section title="Decisions">
        <ul class="list" data-testid="decisions">
          {decisions.map((d) => (
            <li key={d.id}>
              <strong>{d.title}</strong> <span class="muted">({d.method})</span> {d.outcome}{" "}
              <DecisionHistory group={group} decision={d.id} act={act} />
              <Readable kind="decision" record={d.id} />
            </li>
          ))}
        </ul>
        <form class="stack" onSubmit={(e) => { e.preventDefault(); void run(() => backend.addDecision(group, { title: decision, method, outcome, date: meeting.date, meeting: id }), () => { setDecision(""); setOutcome(""); }); }}>
          <input data-testid="decision-title" aria-label="What was decided" placeholder="What was decided" value={decision} onInput={(e) => setDecision(e.currentTarget.value)} />
          <div class="row">
            <label>
              How
              <select value={method} onChange={(e) => setMethod(e.currentTarget.value as DecisionMethod)}>
                {METHODS.map((m) => (
                  <option value={m}>{m}</option>
                ))}
              </select>
            </label>
            <input aria-label="Outcome" placeholder="Outcome: the count, the objections" value={outcome} onInput={(e) => setOutcome(e.currentTarget.value)} />
          </div>
          <button data-testid="add-decision">Record the decision</button>
        </form>
      </Section>
      <Section title="Action items">
        <ul class="list">
          {actions.map((a) => (
            <li key={a.id}>
              {a.title} {a.due && <span class="muted">by {readableDate(a.due)}</span>}
              <Readable kind="action" record={a.id} />
            </li>
          ))}
        </ul>
        <form class="row" onSubmit={(e) => { e.preventDefault(); void run(() => backend.addAction(group, { title: action, owners: owner ? [owner] : [], due: due || undefined, meeting: id }), () => setAction("")); }}>
          <input aria-label="Action item" placeholder="Who does what" value={action} onInput={(e) => setAction(e.currentTarget.value)} />
          <select aria-label="Owner" value={owner} onChange={(e) => setOwner(e.currentTarget.value)}>
            <option value="">(no one yet)</option>
            {view.members.map((m) => (
              <option value={m.id}>{m.name}</option>
            ))}
          </select>
          <input type="date" aria-label="Due" value={due} onInput={(e) => setDue(e.currentTarget.value)} />
          <button class="secondary">Add</button>
        </form>
      </Section>
    </article>
  );
}

function Actions({ view, group, act, reload }: { view: GroupView; group: string; act: Act; reload: () => Promise<void> }) {
  const { overdue, upcoming } = actionsByUrgency(view.actions, todayText());
  const row = (a: GroupView["actions"][number]) => (
    <li key={a.id}>
      <label>
        <input type="checkbox" onChange={async (e) => { await act(() => backend.setActionDone(group, a.id, e.currentTarget.checked)); await reload(); }} /> {a.title}
      </label>{" "}
      <span class="muted">
        {a.owners.map((o) => view.members.find((m) => m.id === o)?.name ?? "someone").join(", ")} {a.due && `· by ${readableDate(a.due)}`}
      </span>
      <Readable kind="action" record={a.id} />
    </li>
  );
  return (
    <>
      <Section title={`Overdue (${overdue.length})`}>
        <ul class="checks">{overdue.map(row)}</ul>
      </Section>
      <Section title={`Upcoming (${upcoming.length})`}>
        <ul class="checks">{upcoming.map(row)}</ul>
      </Section>
    </>
  );
}

/** Who changed a decision, when and from what: each change is bound to the device that signed it. */
function DecisionHistory({ group, decision, act }: { group: string; decision: string; act: Act }) {
  const [lines, setLines] = useState<string[] | null>(null);
  if (lines === null) {
    return (
      <button class="link" data-testid={`history-${decision.slice(0, 8)}`} onClick={async () => {
        const found = await act(() => backend.decisionHistory(group, decision));
        if (found) setLines(found);
      }}>History</button>
    );
  }
  return (
    <ul class="muted history" data-testid={`history-lines-${decision.slice(0, 8)}`}>
      {lines.map((line) => <li>{line}</li>)}
      <li><button class="link" onClick={() => setLines(null)}>Hide</button></li>
    </ul>
  );
}

export function Members({
  view,
  group,
  act,
  reload,
  me,
  page: given,
}: {
  view: GroupView;
  group: string;
  act: Act;
  reload: () => Promise<void>;
  me: string | null;
  /** The group page the screen already read; on its own, the page reads it. */
  page?: GroupPage | null;
}) {
  const [removing, setRemoving] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<string | null>(null);
  const [reason, setReason] = useState("");
  const [told, setTold] = useState("");
  // Who may be removed, revoked or made steward, and the warnings, are the service's (one rule for every front end).
  const [fetched, setFetched] = useState<GroupPage | null>(null);
  useEffect(() => {
    if (given) return;
    void act.read(() => backend.page(group)).then((p) => p && setFetched(p));
  }, [view, given]);
  const page = given ?? fetched;
  const number = page?.safety_number ?? "";
  const stewards = page?.stewards ?? [];
  const removal = (member: string) => page?.removable.find((c) => c.id === member);
  const revocation = (device: string) => page?.revocable.find((c) => c.id === device);
  return (
    <>
      <Section title="Safety number">
        <p>Read it aloud with another member. If your numbers match, you agree on who is in the group and on their keys.</p>
        <p class="safety" data-testid="safety-number">
          {groupedDigits(number).map((g) => (
            <span>{g}</span>
          ))}
        </p>
        {page && (
          <p class="muted" data-testid="devices-verified">
            {page.devices_verified[1]} of the group's {page.devices_verified[0]} device{page.devices_verified[0] === 1 ? " was" : "s were"} verified in person.
          </p>
        )}
      </Section>
      <Section title="Members">
        {told && <p class="notice" role="status" data-testid="removal-notice">{told}</p>}
        <ul class="list" data-testid="members">
          {view.members.map((m) => {
            const devices = view.devices.filter((d) => d.member === m.id);
            return (
              <li>
                <strong>{m.name}</strong> <span class="muted">{m.status}</span>
                {stewards.includes(m.id) && <span class="badge-steward" data-testid={`steward-${m.name}`} title="Signed authority: may admit and remove members"> · steward</span>}
                {page?.stewardable.includes(m.id) && (
                  <>
                    {" "}
                    <button class="link" data-testid={`${stewards.includes(m.id) ? "end-steward" : "make-steward"}-${m.name}`} onClick={async () => {
                      const message = await act(() => backend.setSteward(group, m.id, !stewards.includes(m.id)));
                      if (message) { setTold(message); await reload(); }
                    }}>{stewards.includes(m.id) ? "End steward role" : "Make steward"}</button>
                  </>
                )}
                {devices.map((d) => (
                  <div class="muted">
                    device {d.id.slice(0, 8)} · {d.method === "founder" ? "started the group" : d.method === "in-person-qr" ? "verified in person (QR code)" : d.method === "in-person-code" ? "verified in person (typed code)" : d.method}
                    {d.id === me ? " · this device" : ""}
                    {d.revoked ? ` · revoked ${readableDate(d.revoked)}` : ""}
                    {revocation(d.id) && (
                      <>
                        {" "}
                        <button class="link" data-testid={`revoke-${d.id.slice(0, 8)}`} onClick={() => setRevoking(d.id)}>Revoke this device…</button>
                      </>
                    )}
                    {revoking === d.id && (
                      <div class="stack confirm">
                        <p>{revocation(d.id)?.warning}</p>
                        <div class="row">
                          <button class="danger" data-testid="confirm-revoke" onClick={async () => {
                            const message = await act(() => backend.revokeDevice(group, d.id));
                            if (message) { setTold(message); setRevoking(null); await reload(); }
                          }}>Revoke device {d.id.slice(0, 8)}</button>
                          <button type="button" class="secondary" onClick={() => setRevoking(null)}>Cancel</button>
                        </div>
                      </div>
                    )}
                  </div>
                ))}
                {removal(m.id) && (
                  <button class="danger small" data-testid={`remove-${m.name}`} onClick={() => { setRemoving(m.id); setReason(""); }}>
                    Remove…
                  </button>
                )}
                {removing === m.id && (
                  <form class="stack confirm" onSubmit={async (e) => {
                    e.preventDefault();
                    const message = await act(() => backend.removeMember(group, m.id, reason));
                    if (message) { setTold(message); setRemoving(null); await reload(); }
                  }}>
                    <p>{removal(m.id)?.warning}</p>
                    <input aria-label="Reason" data-testid="removal-reason" placeholder="Reason (kept in the records)" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
                    <div class="row">
                      <button class="danger" data-testid="confirm-removal">Remove {m.name}</button>
                      <button type="button" class="secondary" onClick={() => setRemoving(null)}>Cancel</button>
                    </div>
                  </form>
                )}
              </li>
            );
          })}
        </ul>
      </Section>
      {page && <Compartments view={view} page={page} group={group} act={act} reload={reload} />}
    </>
  );
}

function Words({ step, flow, act, onAnswered }: { step: FlowStep; flow: string; act: Act; onAnswered: () => void }) {
  if (step.stage === "waiting") return <p data-testid="flow-waiting">Waiting for the other device…</p>;
  if (step.stage === "done") return <p class="notice" data-testid="flow-done">{step.message}</p>;
  if (step.stage === "failed") return <p class="error" data-testid="flow-failed">{step.message}</p>;
  return (
    <div class="compare">
      <p>Both screens now show words. Read them aloud to each other ({step.with}).</p>
      <p class="words" data-testid="words">{step.words}</p>
      <div class="row">
        <button data-testid="words-match" onClick={async () => { await act(() => backend.confirm(flow, true)); onAnswered(); }}>
          They match
        </button>
        <button class="danger" data-testid="words-differ" onClick={async () => { await act(() => backend.confirm(flow, false)); onAnswered(); }}>
          They don't match
        </button>
      </div>
    </div>
  );
}

function useFlow(flow: string | null, tick: number, act: Act): [FlowStep | null, () => void] {
  const [step, setStep] = useState<FlowStep | null>(null);
  const refresh = () => {
    if (flow) void act.read(() => backend.flow(flow)).then((s) => s && setStep(s));
  };
  useEffect(refresh, [flow, tick]);
  useEffect(() => {
    const timer = setInterval(refresh, 1000);
    return () => clearInterval(timer);
  }, [flow]);
  return [step, refresh];
}

function Invite({ group, act, tick }: { group: string; act: Act; tick: number }) {
  const [invite, setInvite] = useState<InviteView | null>(null);
  const [step, refresh] = useFlow(invite?.flow ?? null, tick, act);
  const open = async (device: boolean) => {
    const opened = await act(() => backend.invite(group, device));
    if (opened) setInvite(opened);
  };
  if (!invite) {
    return (
      <Section title="Invite in person">
        <p>Only invite someone who is here with you: you will compare words on both screens.</p>
        <div class="row">
          <button data-testid="invite-member" onClick={() => void open(false)}>Invite a new member</button>
          <button class="secondary" data-testid="invite-device" onClick={() => void open(true)}>Link another of my devices</button>
        </div>
      </Section>
    );
  }
  return (
    <Section title="Invite in person">
      <div class="invite">
        <div class="qr" aria-label="QR code to scan" dangerouslySetInnerHTML={{ __html: invite.qr_svg }} />
        <div>
          <p>On their device: Join a group, then scan this code, or type:</p>
          <p class="code" data-testid="invite-code">{invite.code}</p>
          <p class="muted">Valid for {invite.minutes} minutes.</p>
          <details>
            <summary>The code's full text (with this device's addresses)</summary>
            <code data-testid="qr-text">{invite.qr_text}</code>
          </details>
        </div>
      </div>
      {step && <Words step={step} flow={invite.flow} act={act} onAnswered={refresh} />}
    </Section>
  );
}

function Join({ onDone }: { onDone: (group: string | null) => void }) {
  const [code, setCode] = useState("");
  const [flow, setFlow] = useState<string | null>(null);
  const [error, setError] = useState("");
  const [tick, setTick] = useState(0);
  const act = useAction(setError);
  const [step, refresh] = useFlow(flow, tick, act);
  useEffect(() => {
    const stop = backend.onChanges((events) => events.some((e) => e.kind === "flow") && setTick((n) => n + 1));
    return () => void stop.then((unlisten) => unlisten());
  }, []);
  const start = async (event: Event) => {
    event.preventDefault();
    const id = await act(() => backend.join(code));
    if (id) setFlow(id);
  };
  return (
    <main class="narrow">
      <h1>Join a group</h1>
      {!flow && (
        <form onSubmit={start}>
          <label>
            The code on their screen (or the text of its QR code)
            <input data-testid="join-code" value={code} onInput={(e) => setCode(e.currentTarget.value)} autoFocus />
          </label>
          <Scanner onCode={setCode} />
          <div class="row">
            <button data-testid="join">Join</button>
            <button type="button" class="secondary" data-testid="join-back" onClick={() => onDone(null)}>Back</button>
          </div>
        </form>
      )}
      {flow && step && <Words step={step} flow={flow} act={act} onAnswered={refresh} />}
      {step?.stage === "done" && (
        <button data-testid="open-joined" onClick={() => onDone(step.group)}>Open the group</button>
      )}
      {step?.stage === "failed" && <button class="secondary" onClick={() => setFlow(null)}>Try again</button>}
      <ErrorLine text={error} />
    </main>
  );
}

function ExportPage({ group, act }: { group: string; act: Act }) {
  const [done, setDone] = useState<Export | null>(null);
  const [archive, setArchive] = useState<Export | null>(null);
  return (
    <>
      <Section title="Export">
        <p>Minutes and decisions as a readable document, saved in your documents folder, for printing or sharing.</p>
        <div class="row">
          <button data-testid="export" onClick={async () => { const result = await act(() => backend.export(group)); if (result) setDone(result); }}>
            Export minutes and decisions
          </button>
          {done && <button class="secondary" onClick={() => window.print()}>Print</button>}
        </div>
        {done && (
          <>
            <p class="notice" data-testid="export-path">Saved to {done.path}</p>
            <pre class="export" data-testid="export-text">{done.text}</pre>
          </>
        )}
      </Section>
      <Section title="The full archive">
        <p>
          Every record of the group (charter, members, roles, meetings, attendance, decisions, actions) in one JSON file,
          readable without Sunspace. It is not encrypted: keep it somewhere only the group can reach.
        </p>
        <button class="secondary" data-testid="export-archive" onClick={async () => { const result = await act(() => backend.exportArchive(group)); if (result) setArchive(result); }}>
          Save the full archive
        </button>
        {archive && <p class="notice" data-testid="archive-path">Saved to {archive.path}</p>}
      </Section>
      <CarrySection group={group} act={act} />
    </>
  );
}

/** Records carried by file, for devices no network joins: a USB stick, a shared folder. */
function CarrySection({ group, act }: { group: string; act: Act }) {
  const [saved, setSaved] = useState<Export | null>(null);
  const [loaded, setLoaded] = useState<string | null>(null);
  const load = async (input: HTMLInputElement) => {
    const file = input.files?.[0];
    if (!file) return;
    const bytes = new Uint8Array(await file.arrayBuffer());
    const result = await act(() => backend.loadRecords(bytes));
    if (result) setLoaded(result);
    input.value = "";
  };
  return (
    <Section title="Carry records by file">
      <p>
        When two devices cannot reach each other, carry the records on a USB stick or through a shared folder. Only the
        group's devices can open the file; the other device checks every record in it as if it came over the network.
      </p>
      <div class="row">
        <button class="secondary" data-testid="save-records" onClick={async () => { const result = await act(() => backend.saveRecords(group)); if (result) setSaved(result); }}>
          Save records for another device
        </button>
      </div>
      <div class="row">
        <label for="load-records">Load records from a file</label>
        <input id="load-records" data-testid="load-records" type="file" accept=".sscf" onChange={(e) => void load(e.currentTarget)} />
      </div>
      {saved && <p class="notice" data-testid="records-saved">{saved.text} Saved to {saved.path}</p>}
      {loaded && <p class="notice" data-testid="records-loaded">{loaded}</p>}
    </Section>
  );
}
