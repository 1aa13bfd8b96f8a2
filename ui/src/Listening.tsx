// Listening: the one-on-ones a member holds (their notes kept in the member's own "only me"; the group gets only a
// count), the stories shared from them, and the base, the people the group talks to. Where each record goes and
// who may do what is the service's: this screen sends one request per form and shows the sentence it answers.
import { useState } from "preact/hooks";
import { backend } from "./backend";
import type { GroupView } from "./bindings/GroupView";
import type { OneOnOneView } from "./bindings/OneOnOneView";
import type { PersonChanges } from "./bindings/PersonChanges";
import type { PersonView } from "./bindings/PersonView";
import type { Stance } from "./bindings/Stance";
import type { Warmth } from "./bindings/Warmth";
import { Conflicts, Notice, Readable, Section, type Act } from "./parts";
import { memberName, movePlaces, newestFirst, readableDate, todayText, withWhom, type Places } from "./view";

const WARMTH: { value: Warmth; label: string }[] = [
  { value: "cold", label: "cold" },
  { value: "warming", label: "warming" },
  { value: "warm", label: "warm" },
  { value: "close", label: "close" },
];

const STANCES: { value: Stance; label: string }[] = [
  { value: "unknown", label: "not known yet" },
  { value: "supportive", label: "supportive" },
  { value: "undecided", label: "undecided" },
  { value: "opposed", label: "opposed" },
];

const stanceLabel = (stance: Stance) => STANCES.find((s) => s.value === stance)?.label ?? stance;

/** Where a new record may be read: the whole group, only me, or a compartment (the same choices as Move…). */
function readerChoices(places: Places) {
  return movePlaces(places);
}

interface Props {
  view: GroupView;
  group: string;
  act: Act;
  reload: () => Promise<void>;
  /** Where records live, and the service's words for who reads each place. */
  places: Places;
  /** Opens the Patterns page with this story ticked. */
  namePattern: (story: string) => void;
}

export function ListeningPage({ view, group, act, reload, places, namePattern }: Props) {
  const mine = view.conversations.length;
  return (
    <>
      <RecordOneOnOne view={view} group={group} act={act} reload={reload} />
      <OneOnOnes view={view} group={group} act={act} reload={reload} places={places} />
      <p class="muted" data-testid="conversations-count">
        The group's records count {mine} one-on-one{mine === 1 ? "" : "s"} held, by everyone: only that they happened, never
        what was said or with whom.
      </p>
      <Stories view={view} group={group} act={act} reload={reload} namePattern={namePattern} />
      <Base view={view} group={group} act={act} reload={reload} places={places} />
    </>
  );
}

type Base = Pick<Props, "view" | "group" | "act" | "reload">;

function RecordOneOnOne({ view, group, act, reload }: Base) {
  const blank = {
    with: "",
    on: todayText(),
    place: "",
    keeps: "",
    wish: "",
    others: "",
    warmth: "warming" as Warmth,
    next: "",
    nextOn: "",
  };
  const [form, setForm] = useState(blank);
  const [told, setTold] = useState("");
  const field = (key: keyof typeof blank) => (e: { currentTarget: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement }) => {
    setForm({ ...form, [key]: e.currentTarget.value });
    setTold("");
  };
  const submit = async (event: Event) => {
    event.preventDefault();
    const message = await act(() =>
      backend.recordOneOnOne(group, {
        with: form.with,
        on: form.on || undefined,
        place: form.place || undefined,
        keeps_up_at_night: form.keeps,
        wish_different: form.wish,
        others_who_share: form.others,
        warmth: form.warmth,
        next_step: form.next || undefined,
        next_step_on: form.nextOn || undefined,
      }),
    );
    if (message) {
      setForm({ ...blank, on: form.on });
      setTold(message);
      await reload();
    }
  };
  const names = [...view.members.map((m) => m.name), ...view.people.map((p) => p.name)];
  return (
    <Section title="Record a one-on-one">
      <p class="warning" data-testid="one-on-one-privacy">
        These notes stay on your own devices; the group sees only that a conversation happened.
      </p>
      <form class="stack" onSubmit={submit} data-testid="one-on-one-form">
        <div class="row">
          <label>
            With whom <span class="muted">(a member, someone in the base, or anyone)</span>
            <input data-testid="ooo-with" list="ooo-names" value={form.with} onInput={field("with")} required />
            <datalist id="ooo-names">
              {names.map((n) => (
                <option value={n} />
              ))}
            </datalist>
          </label>
          <label>
            When
            <input type="date" data-testid="ooo-on" value={form.on} onInput={field("on")} />
          </label>
          <label>
            Where
            <input data-testid="ooo-place" placeholder="the parking lot, over coffee" value={form.place} onInput={field("place")} />
          </label>
        </div>
        <label>
          What keeps them up at night
          <textarea class="short" rows={3} data-testid="ooo-keeps" value={form.keeps} onInput={field("keeps")} />
        </label>
        <label>
          What they wish were different
          <textarea class="short" rows={3} data-testid="ooo-wish" value={form.wish} onInput={field("wish")} />
        </label>
        <label>
          Who else shares it
          <input data-testid="ooo-others" value={form.others} onInput={field("others")} />
        </label>
        <div class="row">
          <label>
            How warm the relationship is
            <select data-testid="ooo-warmth" value={form.warmth} onChange={field("warmth")}>
              {WARMTH.map((w) => (
                <option value={w.value}>{w.label}</option>
              ))}
            </select>
          </label>
          <label>
            Next step
            <input data-testid="ooo-next" placeholder="meet again, bring a coworker" value={form.next} onInput={field("next")} />
          </label>
          <label>
            By when
            <input type="date" data-testid="ooo-next-on" value={form.nextOn} onInput={field("nextOn")} />
          </label>
        </div>
        <div class="row">
          <button data-testid="record-one-on-one">Record the one-on-one</button>
        </div>
      </form>
      <Notice text={told} testid="one-on-one-notice" />
    </Section>
  );
}

function OneOnOnes({ view, group, act, reload, places }: Base & { places: Places }) {
  const [sharing, setSharing] = useState<string | null>(null);
  const [told, setTold] = useState("");
  const list = newestFirst(view.one_on_ones, (o) => o.on);
  return (
    <Section title="Your one-on-ones">
      <Notice text={told} testid="story-notice" />
      {list.length === 0 && <p class="muted">None recorded on your devices yet.</p>}
      <ul class="list" data-testid="one-on-ones">
        {list.map((o) => (
          <li key={o.id} data-testid={`one-on-one-${o.id.slice(0, 8)}`}>
            <span class="date">{readableDate(o.on)}</span> <strong>with {withWhom(view, o)}</strong>
            {o.place && <span class="muted"> · {o.place}</span>} <span class="tag">{o.warmth}</span>
            <dl class="notes">
              {o.keeps_up_at_night && (
                <>
                  <dt>Keeps them up at night</dt>
                  <dd>{o.keeps_up_at_night}</dd>
                </>
              )}
              {o.wish_different && (
                <>
                  <dt>Wishes were different</dt>
                  <dd>{o.wish_different}</dd>
                </>
              )}
              {o.others_who_share && (
                <>
                  <dt>Who else shares it</dt>
                  <dd>{o.others_who_share}</dd>
                </>
              )}
              {o.next_step && (
                <>
                  <dt>Next step</dt>
                  <dd>
                    {o.next_step}
                    {o.next_step_on && ` · by ${readableDate(o.next_step_on)}`}
                  </dd>
                </>
              )}
            </dl>
            <Readable kind="one_on_one" record={o.id} />
            <Conflicts view={view} group={group} kind="one_on_one" record={o.id} conflicts={o.conflicts} act={act} reload={reload} />
            {sharing === o.id ? (
              <StoryForm
                one={o}
                view={view}
                group={group}
                act={act}
                places={places}
                done={async (message) => {
                  setSharing(null);
                  setTold(message);
                  await reload();
                }}
                cancel={() => setSharing(null)}
              />
            ) : (
              <button
                type="button"
                class="secondary small"
                data-testid={`share-story-${o.id.slice(0, 8)}`}
                onClick={() => {
                  setTold("");
                  setSharing(o.id);
                }}
              >
                Share a story from it…
              </button>
            )}
          </li>
        ))}
      </ul>
    </Section>
  );
}

function StoryForm({
  one,
  view,
  group,
  act,
  places,
  done,
  cancel,
}: {
  one: OneOnOneView;
  view: GroupView;
  group: string;
  act: Act;
  places: Places;
  done: (message: string) => Promise<void>;
  cancel: () => void;
}) {
  const [text, setText] = useState("");
  const [named, setNamed] = useState(false);
  const [teller, setTeller] = useState(withWhom(view, one));
  const [readers, setReaders] = useState("group");
  const submit = async (event: Event) => {
    event.preventDefault();
    const message = await act(() =>
      backend.shareStory(group, {
        text,
        told_by: named && teller.trim() ? teller : undefined,
        from_one_on_one: one.id,
        readers,
      }),
    );
    if (message) await done(message);
  };
  return (
    <form class="stack confirm-soft" onSubmit={submit} data-testid="story-form">
      <label>
        The story, as it may be shared <span class="muted">(only what the teller agreed to)</span>
        <textarea autoFocus class="short" rows={4} data-testid="story-text" value={text} onInput={(e) => setText(e.currentTarget.value)} required />
      </label>
      <fieldset>
        <legend>The teller</legend>
        <label>
          <input type="radio" name={`teller-${one.id}`} data-testid="story-anonymous" checked={!named} onChange={() => setNamed(false)} /> Leave
          them anonymous
        </label>
        <label>
          <input type="radio" name={`teller-${one.id}`} data-testid="story-named" checked={named} onChange={() => setNamed(true)} /> Name or
          describe them as:
        </label>
        {named && (
          <input
            aria-label="How to name the teller"
            data-testid="story-told-by"
            placeholder="a name, or “someone on the night shift”"
            value={teller}
            onInput={(e) => setTeller(e.currentTarget.value)}
          />
        )}
      </fieldset>
      <label>
        Who can read it
        <select data-testid="story-readers" value={readers} onChange={(e) => setReaders(e.currentTarget.value)}>
          {readerChoices(places).map((p) => (
            <option value={p.to}>{p.label}</option>
          ))}
        </select>
      </label>
      <div class="row">
        <button data-testid="story-share">Share the story</button>
        <button type="button" class="secondary" onClick={cancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function Stories({ view, group, act, reload, namePattern }: Base & { namePattern: (story: string) => void }) {
  const list = newestFirst(view.stories, (s) => s.shared_on);
  return (
    <Section title="Stories">
      {list.length === 0 && <p class="muted">No stories shared yet. Share one from a one-on-one above.</p>}
      <ul class="list" data-testid="stories">
        {list.map((s) => (
          <li key={s.id} data-testid={`story-${s.id.slice(0, 8)}`}>
            <blockquote>{s.text}</blockquote>
            <span class="muted">
              {s.told_by ? `Told by ${s.told_by}` : "Told anonymously"} · shared by {memberName(view, s.shared_by)} on{" "}
              {readableDate(s.shared_on)}
            </span>
            <Readable kind="story" record={s.id} />
            <Conflicts view={view} group={group} kind="story" record={s.id} conflicts={s.conflicts} act={act} reload={reload} />
            <button type="button" class="secondary small" data-testid={`story-name-pattern-${s.id.slice(0, 8)}`} onClick={() => namePattern(s.id)}>
              Name a pattern from it…
            </button>
          </li>
        ))}
      </ul>
    </Section>
  );
}

function Base({ view, group, act, reload, places }: Base & { places: Places }) {
  const blank = { name: "", place: "", holder: "", stance: "unknown" as Stance, readers: "group" };
  const [form, setForm] = useState(blank);
  const [told, setTold] = useState("");
  const field = (key: keyof typeof blank) => (e: { currentTarget: HTMLInputElement | HTMLSelectElement }) => {
    setForm({ ...form, [key]: e.currentTarget.value });
    setTold("");
  };
  const tell = async (call: () => Promise<string>) => {
    const message = await act(call);
    if (message) {
      setTold(message);
      await reload();
    }
    return message;
  };
  const add = async (event: Event) => {
    event.preventDefault();
    const message = await tell(() =>
      backend.addPerson(group, {
        name: form.name,
        place: form.place || undefined,
        holder: form.holder || undefined,
        stance: form.stance,
        readers: form.readers,
      }),
    );
    if (message) setForm(blank);
  };
  const people = [...view.people].sort((a, b) => a.name.localeCompare(b.name));
  const joined = people.filter((p) => p.became_member).length;
  return (
    <>
      <Section title="The base">
        <p class="muted" data-testid="base-count">
          {people.length} {people.length === 1 ? "person" : "people"} in the base; {joined} became {joined === 1 ? "a member" : "members"}.
        </p>
        <Notice text={told} testid="person-notice" />
        <ul class="list" data-testid="people">
          {people.map((p) => (
            <PersonItem key={p.id} person={p} view={view} group={group} act={act} reload={reload} tell={tell} />
          ))}
        </ul>
      </Section>
      <Section title="Add someone to the base">
        <form class="stack" onSubmit={add} data-testid="person-form">
          <div class="row">
            <label>
              Name
              <input data-testid="person-name" value={form.name} onInput={field("name")} required />
            </label>
            <label>
              Where they work or live
              <input data-testid="person-place" placeholder="night shift, building B" value={form.place} onInput={field("place")} />
            </label>
          </div>
          <div class="row">
            <label>
              Who holds the relationship
              <select data-testid="person-holder" value={form.holder} onChange={field("holder")}>
                <option value="">You</option>
                {view.members.map((m) => (
                  <option value={m.id}>{m.name}</option>
                ))}
              </select>
            </label>
            <label>
              Where they stand
              <select data-testid="person-stance" value={form.stance} onChange={field("stance")}>
                {STANCES.map((s) => (
                  <option value={s.value}>{s.label}</option>
                ))}
              </select>
            </label>
            <label>
              Who can read it
              <select data-testid="person-readers" value={form.readers} onChange={field("readers")}>
                {readerChoices(places).map((p) => (
                  <option value={p.to}>{p.label}</option>
                ))}
              </select>
            </label>
          </div>
          <div class="row">
            <button data-testid="add-person">Add to the base</button>
          </div>
        </form>
      </Section>
    </>
  );
}

function PersonItem({
  person: p,
  view,
  group,
  act,
  reload,
  tell,
}: {
  person: PersonView;
  view: GroupView;
  group: string;
  act: Act;
  reload: () => Promise<void>;
  tell: (call: () => Promise<string>) => Promise<string | undefined>;
}) {
  const id = p.id.slice(0, 8);
  const [stance, setStance] = useState<Stance>(p.stance);
  // Another device's change to the stance shows here too.
  const [shown, setShown] = useState<Stance>(p.stance);
  if (shown !== p.stance) {
    setShown(p.stance);
    setStance(p.stance);
  }
  const [became, setBecame] = useState("");
  const changes: PersonChanges = {
    ...(stance !== p.stance ? { stance } : {}),
    ...(became ? { became_member: became } : {}),
  };
  const changed = Object.keys(changes).length > 0;
  return (
    <li data-testid={`person-${id}`}>
      <strong>{p.name}</strong>
      {p.place && <span class="muted"> · {p.place}</span>}
      <span class="muted"> · relationship held by {memberName(view, p.holder)}</span> <span class="tag">{stanceLabel(p.stance)}</span>
      {p.became_member && (
        <span class="tag joined" data-testid={`person-joined-${id}`}>
          became a member ({memberName(view, p.became_member)})
        </span>
      )}
      <Readable kind="person" record={p.id} />
      <Conflicts view={view} group={group} kind="person" record={p.id} conflicts={p.conflicts} act={act} reload={reload} />
      <form
        class="row"
        onSubmit={async (e) => {
          e.preventDefault();
          if (!changed) return;
          if (await tell(() => backend.editPerson(group, p.id, changes))) setBecame("");
        }}
      >
        <label>
          Where they stand
          <select data-testid={`person-stance-${id}`} value={stance} onChange={(e) => setStance(e.currentTarget.value as Stance)}>
            {STANCES.map((s) => (
              <option value={s.value}>{s.label}</option>
            ))}
          </select>
        </label>
        {!p.became_member && (
          <label>
            Became a member
            <select data-testid={`person-became-${id}`} value={became} onChange={(e) => setBecame(e.currentTarget.value)}>
              <option value="">(not yet)</option>
              {view.members.map((m) => (
                <option value={m.id}>{m.name}</option>
              ))}
            </select>
          </label>
        )}
        <button class="secondary" data-testid={`person-update-${id}`} disabled={!changed}>
          Save
        </button>
      </form>
    </li>
  );
}
