import { describe, expect, it } from "vitest";
import { useAction } from "./parts";

describe("running backend calls", () => {
  it("a background read that succeeds leaves the last error standing", async () => {
    let shown = "";
    const act = useAction((text) => (shown = text));
    await act(() => Promise.reject("The meeting needs a title."));
    expect(shown).toBe("The meeting needs a title.");
    expect(await act.read(() => Promise.resolve(7))).toBe(7);
    expect(shown).toBe("The meeting needs a title.");
  });

  it("a call the person asked for clears the error when it succeeds", async () => {
    let shown = "";
    const act = useAction((text) => (shown = text));
    await act(() => Promise.reject("The meeting needs a title."));
    await act(() => Promise.resolve("done"));
    expect(shown).toBe("");
  });

  it("a background read that fails shows its sentence", async () => {
    let shown = "";
    const act = useAction((text) => (shown = text));
    expect(await act.read(() => Promise.reject("This group could not be opened."))).toBeUndefined();
    expect(shown).toBe("This group could not be opened.");
  });
});
