// Small pieces every screen uses: running a backend call with its error shown, and a titled section.
import { createContext, type ComponentChildren } from "preact";
import { useContext, useState } from "preact/hooks";
import { backend, sentenceOf } from "./backend";
import type { Conflict } from "./bindings/Conflict";
import type { GroupView } from "./bindings/GroupView";
import type { RecordKind } from "./bindings/RecordKind";
import { movePlaces, placeOf, readableBy, type Places } from "./view";

/**
 * Runs a backend call the person asked for: a failure shows its sentence, a success clears the last one.
 * `act.read` runs a call the window makes by itself (a reload, a poll): a failure shows, but a success
 * leaves the sentence standing, so a background refresh never wipes an error before it is read.
 */
export interface Act {
  <T>(call: () => Promise<T>): Promise<T | undefined>;
  read<T>(call: () => Promise<T>): Promise<T | undefined>;
}

export function useAction(setError: (text: string) => void): Act {
  const run = async <T,>(call: () => Promise<T>, clearOnSuccess: boolean): Promise<T | undefined> => {
    try {
      const result = await call();
      if (clearOnSuccess) setError("");
      return result;
    } catch (error) {
      setError(sentenceOf(error));
      return undefined;
    }
  };
  const act = (<T,>(call: () => Promise<T>) => run(call, true)) as Act;
  act.read = <T,>(call: () => Promise<T>) => run(call, false);
  return act;
}

export function ErrorLine({ text }: { text: string }) {
  return text ? (
    <p class="error" role="alert" data-testid="error">
      {text}
    </p>
  ) : null;
}

export function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

/** The values two devices wrote to one field at the same time, who wrote each, and a button to keep one. */
export function Conflicts({ view, group, kind, record, conflicts, act, reload }: { view: GroupView; group: string; kind: RecordKind; record: string; conflicts: Conflict[]; act: Act; reload: () => Promise<void> }) {
  if (conflicts.length === 0) return null;
  return (
    <div class="conflict" data-testid="conflict">
      {conflicts.map((c) => (
        <div>
          <p>
            Two people changed <strong>{c.field}</strong> at the same time. Keep one:
          </p>
          {c.values.map((v) => (
            <button
              class="secondary"
              onClick={async () => {
                await act(() => backend.resolve(group, kind, record, c.field, v.value));
                await reload();
              }}
            >
              “{v.value}” — {view.members.find((m) => m.id === v.author)?.name ?? "another device"}
            </button>
          ))}
        </div>
      ))}
    </div>
  );
}

/** A sentence the service answered with, shown where the person acted. */
export function Notice({ text, testid }: { text: string; testid: string }) {
  return text ? (
    <p class="notice" role="status" data-testid={testid}>
      {text}
    </p>
  ) : null;
}

/** What every record's "who can read this" line needs: where records live, and how to move one. */
export interface Where {
  group: string;
  places: Places;
  act: Act;
  reload: () => Promise<void>;
}

/** Given by the group's screen; without it (a screen on its own), every record reads as the whole group's. */
export const WhereContext = createContext<Where | null>(null);

const NOWHERE: Places = { placement: {}, compartments: [], all_compartments: {}, readers: {}, whole_group: "the whole group", only_me: "only you (your own devices)" };

/**
 * "Readable by: …" for one record, from where the service placed it, and a Move… control that asks the service
 * to move it (the service says whether it may, and what moving it means).
 */
export function Readable({ kind, record }: { kind: RecordKind; record: string }) {
  const where = useContext(WhereContext);
  const places = where?.places ?? NOWHERE;
  const [moving, setMoving] = useState(false);
  const [to, setTo] = useState("group");
  const [told, setTold] = useState("");
  const id = record.slice(0, 8);
  const move = async (event: Event) => {
    event.preventDefault();
    if (!where) return;
    const message = await where.act(() => backend.moveRecord(where.group, kind, record, to));
    if (message) {
      setTold(message);
      setMoving(false);
      await where.reload();
    }
  };
  return (
    <div class="readable">
      <span data-testid={`readable-${id}`}>{readableBy(places, record)}</span>
      {where && !moving && (
        <>
          {" "}
          <button
            type="button"
            class="link"
            data-testid={`move-${id}`}
            onClick={() => {
              setTo(placeOf(places, record));
              setTold("");
              setMoving(true);
            }}
          >
            Move…
          </button>
        </>
      )}
      {moving && (
        <form class="row move" onSubmit={move}>
          <label>
            Who can read it
            <select autoFocus data-testid={`move-to-${id}`} value={to} onChange={(e) => setTo(e.currentTarget.value)}>
              {movePlaces(places).map((p) => (
                <option value={p.to}>{p.label}</option>
              ))}
            </select>
          </label>
          <button data-testid={`move-confirm-${id}`}>Move</button>
          <button type="button" class="secondary" onClick={() => setMoving(false)}>
            Cancel
          </button>
        </form>
      )}
      <Notice text={told} testid={`move-notice-${id}`} />
    </div>
  );
}
