// Small pieces every screen uses: running a backend call with its error shown, and a titled section.
import type { ComponentChildren } from "preact";
import { backend, sentenceOf } from "./backend";
import type { Conflict } from "./bindings/Conflict";
import type { GroupView } from "./bindings/GroupView";
import type { RecordKind } from "./bindings/RecordKind";

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
