// Compartments: smaller circles inside the group, each with its own key, so only its members' devices read what is
// placed in it ("only me" is one, holding a member's own notes). Who may create one, add or take out whom, is the
// service's to say: this screen sends the request and shows its sentence (taking someone out changes the key).
import { useState } from "preact/hooks";
import { backend } from "./backend";
import type { CompartmentView } from "./bindings/CompartmentView";
import type { GroupPage } from "./bindings/GroupPage";
import type { GroupView } from "./bindings/GroupView";
import { Notice, Section, type Act } from "./parts";
import { groupedDigits, listNames, memberName } from "./view";

export function Compartments({ view, page, group, act, reload }: { view: GroupView; page: GroupPage; group: string; act: Act; reload: () => Promise<void> }) {
  const [name, setName] = useState("");
  const [chosen, setChosen] = useState<string[]>([]);
  const [told, setTold] = useState("");
  // Members by the signed membership (those with devices): the ones a compartment's key can be given to.
  const signed = [...new Set(Object.values(page.devices))].filter((id) => id !== page.my_member);
  const others = signed
    .map((id) => ({ id, name: memberName(view, id) }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const tell = async (call: () => Promise<string>, after?: () => void) => {
    const message = await act(call);
    if (message) {
      setTold(message);
      after?.();
      await reload();
    }
  };
  const create = (event: Event) => {
    event.preventDefault();
    void tell(
      () => backend.createCompartment(group, name, chosen),
      () => {
        setName("");
        setChosen([]);
      },
    );
  };
  return (
    <>
      <Section title="Compartments">
        <p>
          A compartment is a smaller circle inside the group with its own key: only its members' devices can read what is
          placed in it. Check its safety number with each of its members, as you do the group's.
        </p>
        <Notice text={told} testid="compartment-notice" />
        {page.compartments.length === 0 && <p class="muted">You are in no compartment yet.</p>}
        <ul class="list" data-testid="compartments">
          {page.compartments.map((c) => (
            <CompartmentItem key={c.id} compartment={c} others={others} me={page.my_member} view={view} group={group} tell={tell} />
          ))}
        </ul>
      </Section>
      <Section title="Create a compartment">
        <form class="stack" onSubmit={create} data-testid="compartment-form">
          <label>
            Its name <span class="muted">(for example: Negotiation team)</span>
            <input data-testid="compartment-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </label>
          <fieldset>
            <legend>Who is in it (you always are)</legend>
            {others.length === 0 && <p class="muted">No other member has a device in the group yet.</p>}
            {others.map((m) => (
              <label>
                <input
                  type="checkbox"
                  data-testid={`compartment-member-${m.name}`}
                  checked={chosen.includes(m.id)}
                  onChange={(e) => setChosen(e.currentTarget.checked ? [...chosen, m.id] : chosen.filter((id) => id !== m.id))}
                />{" "}
                {m.name}
              </label>
            ))}
          </fieldset>
          <div class="row">
            <button data-testid="create-compartment">Create the compartment</button>
          </div>
        </form>
      </Section>
    </>
  );
}

function CompartmentItem({
  compartment: c,
  others,
  me,
  view,
  group,
  tell,
}: {
  compartment: CompartmentView;
  others: { id: string; name: string }[];
  me: string | null;
  view: GroupView;
  group: string;
  tell: (call: () => Promise<string>) => Promise<void>;
}) {
  const id = c.id.slice(0, 8);
  const outside = others.filter((m) => !c.members.includes(m.id));
  const [adding, setAdding] = useState("");
  const toAdd = outside.some((m) => m.id === adding) ? adding : (outside[0]?.id ?? "");
  return (
    <li data-testid={`compartment-${id}`}>
      <strong data-testid={`compartment-title-${id}`}>{c.name}</strong>
      {c.only_me && (
        <span class="tag" data-testid={`compartment-only-me-${id}`}>
          only me: your own devices
        </span>
      )}
      <div>
        <span class="muted">Members: </span>
        <span data-testid={`compartment-members-${id}`}>{listNames(c.member_names)}</span>
      </div>
      {!c.readable_here && <p class="muted">This device does not hold its key yet: its records show once it does.</p>}
      <div>
        <span class="muted">Safety number: </span>
        <span class="safety-small" data-testid={`compartment-safety-${id}`}>
          {groupedDigits(c.safety_number).map((g) => (
            <span>{g}</span>
          ))}
        </span>
      </div>
      {!c.only_me && (
        <div class="row">
          {c.members.map((member, i) => {
            const who = c.member_names[i] ?? memberName(view, member);
            return (
              <button
                type="button"
                class="secondary small"
                data-testid={`compartment-remove-${id}-${who}`}
                onClick={() => void tell(() => backend.removeFromCompartment(group, c.id, member))}
              >
                {member === me ? `Leave ${c.name}` : `Take ${who} out`}
              </button>
            );
          })}
        </div>
      )}
      {!c.only_me && outside.length > 0 && (
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            if (toAdd) void tell(() => backend.addToCompartment(group, c.id, toAdd));
          }}
        >
          <label>
            Add a member
            <select data-testid={`compartment-add-member-${id}`} value={toAdd} onChange={(e) => setAdding(e.currentTarget.value)}>
              {outside.map((m) => (
                <option value={m.id}>{m.name}</option>
              ))}
            </select>
          </label>
          <button class="secondary" data-testid={`compartment-add-${id}`}>
            Add to {c.name}
          </button>
        </form>
      )}
    </li>
  );
}
