// The charter (why the group exists, how it decides, how often it meets, its promise of confidentiality) and the
// roles members hold for a term. Saving sends only the fields changed here, so a peer's edits to the others stay.
import { useEffect, useState } from "preact/hooks";
import { backend } from "./backend";
import type { GroupView } from "./bindings/GroupView";
import { Conflicts, Section, type Act } from "./parts";
import { charterChanges, charterForm, readableDate, roleTerms, todayText, type CharterForm } from "./view";

const ROLES = ["facilitator", "note-taker", "steward", "treasurer", "outreach", "timekeeper"];

export function CharterPage({ view, group, act, reload }: { view: GroupView; group: string; act: Act; reload: () => Promise<void> }) {
  const [form, setForm] = useState<CharterForm>(charterForm(view));
  const [dirty, setDirty] = useState(false);
  const [saved, setSaved] = useState("");
  // A peer's change shows at once unless this device has unsaved changes in the form.
  useEffect(() => {
    if (!dirty) setForm(charterForm(view));
  }, [view]);
  const field = (key: keyof CharterForm) => (e: { currentTarget: HTMLInputElement | HTMLTextAreaElement }) => {
    setForm({ ...form, [key]: e.currentTarget.value });
    setDirty(true);
    setSaved("");
  };
  const save = async (event: Event) => {
    event.preventDefault();
    const done = await act(() => backend.editCharter(group, charterChanges(view, form)));
    if (done !== undefined) {
      setDirty(false);
      setSaved("The charter is saved.");
      await reload();
    }
  };
  return (
    <>
      <Section title="Charter">
        <form class="stack" onSubmit={save} data-testid="charter-form">
          <label>
            Why the group exists
            <textarea rows={3} data-testid="charter-purpose" value={form.purpose} onInput={field("purpose")} />
          </label>
          <label>
            How decisions are made
            <textarea rows={3} value={form.decision_rules} onInput={field("decision_rules")} />
          </label>
          <label>
            How often you meet <span class="muted">(for example: monthly, every 2 weeks)</span>
            <input data-testid="charter-cadence" value={form.cadence} onInput={field("cadence")} />
          </label>
          <Conflicts view={view} group={group} kind="charter" record="" conflicts={view.charter.conflicts} act={act} reload={reload} />
          <label>
            What stays in the room
            <textarea rows={3} value={form.confidentiality} onInput={field("confidentiality")} />
          </label>
          <div class="row">
            <button data-testid="charter-save" disabled={!dirty}>Save the charter</button>
            {saved && <span class="notice" role="status">{saved}</span>}
          </div>
        </form>
      </Section>
      <Stewards view={view} group={group} act={act} />
      <Roles view={view} group={group} act={act} reload={reload} />
    </>
  );
}

/** Who holds signed authority (stewards admit and remove members), apart from the informal roles below. */
function Stewards({ view, group, act }: { view: GroupView; group: string; act: Act }) {
  const [stewards, setStewards] = useState<string[]>([]);
  useEffect(() => {
    void act.read(() => backend.stewards(group)).then((s) => s && setStewards(s));
  }, [view]);
  const names = stewards.map((id) => view.members.find((m) => m.id === id)?.name ?? "a member");
  return (
    <Section title="Stewards">
      <p class="muted">
        Stewards admit and remove members. This is signed by the group's devices, not an entry anyone can edit; change it from
        the Members page.
      </p>
      <p data-testid="stewards">{names.length ? names.join(", ") : "No steward is known yet."}</p>
    </Section>
  );
}

function Roles({ view, group, act, reload }: { view: GroupView; group: string; act: Act; reload: () => Promise<void> }) {
  const today = todayText();
  const { current, past } = roleTerms(view, today);
  const active = view.members.filter((m) => m.status === "active");
  const [member, setMember] = useState(active[0]?.id ?? "");
  const [role, setRole] = useState("");
  const [from, setFrom] = useState(today);
  const [until, setUntil] = useState("");
  const grant = async (event: Event) => {
    event.preventDefault();
    const id = await act(() => backend.grantRole(group, { member, role, from, until: until || undefined }));
    if (id) {
      setRole("");
      setUntil("");
      await reload();
    }
  };
  const term = (from: string, until: string | null) => (until ? `${readableDate(from)} to ${readableDate(until)}` : `since ${readableDate(from)}`);
  return (
    <Section title="Roles">
      <p class="muted">Roles rotate so that no one person carries the group. Each is held for a term.</p>
      {current.length === 0 && <p>No one holds a role right now.</p>}
      <ul class="list" data-testid="roles">
        {current.map((g) => (
          <li>
            <strong>{g.name}</strong>: {g.role} <span class="muted">{term(g.from, g.until)}</span>{" "}
            <button class="secondary small" onClick={async () => { await act(() => backend.endRole(group, g.id)); await reload(); }}>
              End the term today
            </button>
          </li>
        ))}
      </ul>
      {past.length > 0 && (
        <details>
          <summary>Earlier terms ({past.length})</summary>
          <ul class="list">
            {past.map((g) => (
              <li>
                {g.name}: {g.role} <span class="muted">{term(g.from, g.until)}</span>
              </li>
            ))}
          </ul>
        </details>
      )}
      <form class="row" onSubmit={grant} data-testid="role-form">
        <label>
          Who
          <select value={member} onChange={(e) => setMember(e.currentTarget.value)} data-testid="role-member">
            {active.map((m) => (
              <option value={m.id}>{m.name}</option>
            ))}
          </select>
        </label>
        <label>
          Role
          <input list="role-names" value={role} onInput={(e) => setRole(e.currentTarget.value)} data-testid="role-name" />
          <datalist id="role-names">
            {ROLES.map((r) => (
              <option value={r} />
            ))}
          </datalist>
        </label>
        <label>
          From
          <input type="date" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
        </label>
        <label>
          Until <span class="muted">(optional)</span>
          <input type="date" value={until} onInput={(e) => setUntil(e.currentTarget.value)} />
        </label>
        <button data-testid="role-grant">Give the role</button>
      </form>
    </Section>
  );
}
