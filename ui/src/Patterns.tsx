// Patterns: what the group recognised in its stories ("that's not individual failure; that's structural"), and
// where each stands in the cycle: named, researching, a demand, won, or retired. A linked story this device cannot
// read (kept in a compartment it is not in) is said to be there, never shown.
import { useState } from "preact/hooks";
import { backend } from "./backend";
import type { GroupView } from "./bindings/GroupView";
import type { PatternState } from "./bindings/PatternState";
import type { PatternView } from "./bindings/PatternView";
import { Conflicts, Notice, Readable, Section, type Act } from "./parts";
import { meetingsNewestFirst, newestFirst, readableDate } from "./view";

const STATES: { value: PatternState; label: string }[] = [
  { value: "named", label: "named" },
  { value: "researching", label: "researching the institution" },
  { value: "demand", label: "a demand" },
  { value: "won", label: "won" },
  { value: "retired", label: "retired" },
];

const stateLabel = (state: PatternState) => STATES.find((s) => s.value === state)?.label ?? state;

/** A story's passage, shortened for a checkbox or a list. */
const excerpt = (text: string, length = 90) => (text.length > length ? `${text.slice(0, length - 1)}…` : text);

export function PatternsPage({ view, group, act, reload, story }: { view: GroupView; group: string; act: Act; reload: () => Promise<void>; story?: string }) {
  const [told, setTold] = useState("");
  const tell = async (call: () => Promise<string>) => {
    const message = await act(call);
    if (message) {
      setTold(message);
      await reload();
    }
    return message;
  };
  const patterns = newestFirst(view.patterns, (p) => p.named_on);
  return (
    <>
      <NamePattern view={view} tell={tell} group={group} story={story} />
      <Section title="Patterns">
        <Notice text={told} testid="pattern-notice" />
        {patterns.length === 0 && <p class="muted">No pattern named yet.</p>}
        <ul class="list" data-testid="patterns">
          {patterns.map((p) => (
            <PatternItem key={p.id} pattern={p} view={view} group={group} act={act} reload={reload} tell={tell} />
          ))}
        </ul>
      </Section>
    </>
  );
}

function NamePattern({ view, group, tell, story }: { view: GroupView; group: string; tell: (call: () => Promise<string>) => Promise<string | undefined>; story?: string }) {
  const blank = { name: "", description: "", meeting: "", conversations: "" };
  const [form, setForm] = useState(blank);
  const [stories, setStories] = useState<string[]>(story ? [story] : []);
  const field = (key: keyof typeof blank) => (e: { currentTarget: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement }) =>
    setForm({ ...form, [key]: e.currentTarget.value });
  const submit = async (event: Event) => {
    event.preventDefault();
    const message = await tell(() =>
      backend.namePattern(group, {
        name: form.name,
        description: form.description,
        meeting: form.meeting || undefined,
        stories,
        conversations: Number.parseInt(form.conversations, 10) || 0,
      }),
    );
    if (message) {
      setForm(blank);
      setStories([]);
    }
  };
  return (
    <Section title="Name a pattern">
      <p class="muted">When several stories turn out to be the same story: name it together, in the group's words.</p>
      <form class="stack" onSubmit={submit} data-testid="pattern-form">
        <label>
          The pattern <span class="muted">(for example: scheduling makes us invisible)</span>
          <input data-testid="pattern-name" value={form.name} onInput={field("name")} required />
        </label>
        <label>
          What the group means by it
          <textarea class="short" rows={3} data-testid="pattern-description" value={form.description} onInput={field("description")} />
        </label>
        <div class="row">
          <label>
            Named at
            <select data-testid="pattern-meeting" value={form.meeting} onChange={field("meeting")}>
              <option value="">(not at a meeting)</option>
              {meetingsNewestFirst(view).map((m) => (
                <option value={m.id}>
                  {readableDate(m.date)} · {m.title}
                </option>
              ))}
            </select>
          </label>
          <label>
            How many conversations surfaced it
            <input type="number" min={0} data-testid="pattern-conversations" value={form.conversations} onInput={field("conversations")} />
          </label>
        </div>
        <fieldset>
          <legend>The stories it comes from</legend>
          {view.stories.length === 0 && <p class="muted">No stories shared yet (share them from one-on-ones, on the Listening page).</p>}
          {newestFirst(view.stories, (s) => s.shared_on).map((s) => (
            <label>
              <input
                type="checkbox"
                data-testid={`pattern-story-${s.id.slice(0, 8)}`}
                checked={stories.includes(s.id)}
                onChange={(e) => setStories(e.currentTarget.checked ? [...stories, s.id] : stories.filter((id) => id !== s.id))}
              />{" "}
              “{excerpt(s.text)}”
            </label>
          ))}
        </fieldset>
        <div class="row">
          <button data-testid="name-pattern">Name the pattern</button>
        </div>
      </form>
    </Section>
  );
}

function PatternItem({
  pattern: p,
  view,
  group,
  act,
  reload,
  tell,
}: {
  pattern: PatternView;
  view: GroupView;
  group: string;
  act: Act;
  reload: () => Promise<void>;
  tell: (call: () => Promise<string>) => Promise<string | undefined>;
}) {
  const id = p.id.slice(0, 8);
  const [state, setState] = useState<PatternState>(p.state);
  // Another device moving it along shows here too (the select follows the record when the record changes).
  const [shown, setShown] = useState<PatternState>(p.state);
  if (shown !== p.state) {
    setShown(p.state);
    setState(p.state);
  }
  const unlinkedStories = view.stories.filter((s) => !p.stories.includes(s.id));
  const unlinkedMeetings = meetingsNewestFirst(view).filter((m) => !p.meetings.includes(m.id));
  const [story, setStory] = useState("");
  const [meeting, setMeeting] = useState("");
  const storyChoice = unlinkedStories.some((s) => s.id === story) ? story : (unlinkedStories[0]?.id ?? "");
  const meetingChoice = unlinkedMeetings.some((m) => m.id === meeting) ? meeting : (unlinkedMeetings[0]?.id ?? "");
  const namedAt = p.named_at ? view.meetings.find((m) => m.id === p.named_at) : undefined;
  return (
    <li data-testid={`pattern-${id}`}>
      <strong>{p.name}</strong>{" "}
      <span class="tag" data-testid={`pattern-state-${id}`}>
        {stateLabel(p.state)}
      </span>
      <div class="muted">
        Named {readableDate(p.named_on)}
        {namedAt && ` at ${namedAt.title}`} · surfaced in {p.conversations} conversation{p.conversations === 1 ? "" : "s"}
      </div>
      {p.description && <p>{p.description}</p>}
      <Readable kind="pattern" record={p.id} />
      <Conflicts view={view} group={group} kind="pattern" record={p.id} conflicts={p.conflicts} act={act} reload={reload} />
      <div class="linked">
        <span class="muted">Stories:</span>
        {p.stories.length === 0 && <span class="muted"> none linked yet.</span>}
        <ul data-testid={`pattern-stories-${id}`}>
          {p.stories.map((sid) => {
            const s = view.stories.find((one) => one.id === sid);
            return <li>{s ? `“${excerpt(s.text, 140)}”` : <em>a story you cannot read here</em>}</li>;
          })}
        </ul>
      </div>
      <div class="linked">
        <span class="muted">Discussed at:</span>
        {p.meetings.length === 0 && <span class="muted"> no meeting yet.</span>}
        <ul data-testid={`pattern-meetings-${id}`}>
          {p.meetings.map((mid) => {
            const m = view.meetings.find((one) => one.id === mid);
            return <li>{m ? `${readableDate(m.date)} · ${m.title}` : <em>a meeting you cannot read here</em>}</li>;
          })}
        </ul>
      </div>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          void tell(() => backend.editPattern(group, p.id, { state, add_stories: [], add_meetings: [] }));
        }}
      >
        <label>
          Where it stands
          <select data-testid={`pattern-state-select-${id}`} value={state} onChange={(e) => setState(e.currentTarget.value as PatternState)}>
            {STATES.map((s) => (
              <option value={s.value}>{s.label}</option>
            ))}
          </select>
        </label>
        <button class="secondary" data-testid={`pattern-set-state-${id}`} disabled={state === p.state}>
          Save
        </button>
      </form>
      {unlinkedStories.length > 0 && (
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            if (storyChoice) void tell(() => backend.editPattern(group, p.id, { add_stories: [storyChoice], add_meetings: [] }));
          }}
        >
          <label>
            Link a story
            <select data-testid={`pattern-link-story-${id}`} value={storyChoice} onChange={(e) => setStory(e.currentTarget.value)}>
              {unlinkedStories.map((s) => (
                <option value={s.id}>“{excerpt(s.text, 60)}”</option>
              ))}
            </select>
          </label>
          <button class="secondary" data-testid={`pattern-link-story-go-${id}`}>
            Link
          </button>
        </form>
      )}
      {unlinkedMeetings.length > 0 && (
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            if (meetingChoice) void tell(() => backend.editPattern(group, p.id, { add_stories: [], add_meetings: [meetingChoice] }));
          }}
        >
          <label>
            A meeting that discussed it
            <select data-testid={`pattern-link-meeting-${id}`} value={meetingChoice} onChange={(e) => setMeeting(e.currentTarget.value)}>
              {unlinkedMeetings.map((m) => (
                <option value={m.id}>
                  {readableDate(m.date)} · {m.title}
                </option>
              ))}
            </select>
          </label>
          <button class="secondary" data-testid={`pattern-link-meeting-go-${id}`}>
            Link
          </button>
        </form>
      )}
    </li>
  );
}
