// End-to-end: the real app binary in a real window (under Xvfb), driven by WebDriver through tauri-driver and
// Debian's WebKitWebDriver. One session, always deleted. A second device runs `sunspace serve` on loopback,
// joins the app's group in person (the words compared on both sides), and its edit appears in the window.
//
// Run by `make test` as `xvfb-run -a node e2e/run.mjs`. Writes screenshots and timings to e2e/artifacts/.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync, existsSync, rmSync } from "node:fs";
import { tmpdir, homedir } from "node:os";
import { join, resolve } from "node:path";
import { remote } from "webdriverio";

const root = resolve(import.meta.dirname, "../..");
const target = process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache/sunspace-target");
const appBinary = join(target, "debug/sunspace-app");
const cli = join(target, "debug/sunspace");
const driverBinary = process.env.TAURI_DRIVER ?? join(homedir(), ".cargo/bin/tauri-driver");
const artifacts = join(root, "ui/e2e/artifacts");
const PASSPHRASE = "tenants united never divided";
const WAIT = 30_000;

for (const needed of [appBinary, cli, driverBinary, "/usr/bin/WebKitWebDriver"]) {
  if (!existsSync(needed)) throw new Error(`missing ${needed}: run this through \`make test\``);
}
rmSync(artifacts, { recursive: true, force: true });
mkdirSync(artifacts, { recursive: true });
const scratch = mkdtempSync(join(tmpdir(), "sunspace-e2e-"));
const appHome = join(scratch, "app");
const peerHome = join(scratch, "peer");
const env = {
  ...process.env,
  HOME: scratch, // the export is saved under it
  SUNSPACE_HOME: appHome,
  SUNSPACE_NETWORK: "loopback",
  SUNSPACE_TEST_KDF: "minimum",
  WEBKIT_DISABLE_COMPOSITING_MODE: "1",
  WEBKIT_DISABLE_DMABUF_RENDERER: "1",
};
const peerEnv = { ...process.env, SUNSPACE_HOME: peerHome, SUNSPACE_PASSPHRASE: PASSPHRASE };
const children = [];
const timings = {};

/** Runs a `sunspace` command as the device whose environment is `deviceEnv`; returns what it printed. */
function sunspace(deviceEnv, args) {
  const run = spawnSync(cli, args, { env: deviceEnv, encoding: "utf8" });
  if (run.status !== 0) throw new Error(`sunspace ${args.join(" ")} failed: ${run.stdout}${run.stderr}`);
  return run.stdout;
}

const peer = (args) => sunspace(peerEnv, args);

/** Starts `sunspace join --confirm` with an invitation's QR text; `exited` gives its exit code, `output()` its text. */
function joinInPerson(deviceEnv, qrText) {
  const joining = spawn(cli, ["join", qrText, "--confirm"], { env: deviceEnv, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  joining.stdout.on("data", (d) => (output += d));
  joining.stderr.on("data", (d) => (output += d));
  return { exited: new Promise((ok) => joining.on("exit", (code) => ok(code))), output: () => output };
}

function step(name) {
  console.log(`e2e: ${name}`);
}

const driver = spawn(driverBinary, ["--port", "4444", "--native-driver", "/usr/bin/WebKitWebDriver"], {
  env,
  stdio: ["ignore", "inherit", "inherit"],
});
children.push(driver);
await new Promise((ok) => setTimeout(ok, 1500));

let browser;
let failed = false;
try {
  const launched = Date.now();
  browser = await remote({
    hostname: "127.0.0.1",
    port: 4444,
    logLevel: "warn",
    capabilities: { "tauri:options": { application: appBinary } },
  });
  const $ = (id) => browser.$(`[data-testid="${id}"]`);
  // The X screen as it is (WebKitWebDriver's own screenshot hangs under Xvfb): ImageMagick's `import`.
  const shot = async (name) => {
    await new Promise((ok) => setTimeout(ok, 300)); // let the last change paint
    const run = spawnSync("import", ["-window", "root", join(artifacts, `${name}.png`)], { env: process.env });
    if (run.status !== 0) throw new Error(`screenshot ${name} failed: ${run.stderr}`);
  };
  const type = async (id, text) => {
    const field = await $(id);
    await field.waitForDisplayed({ timeout: WAIT });
    await field.setValue(text);
  };
  const click = async (id) => {
    const button = await $(id);
    await button.waitForClickable({ timeout: WAIT });
    await button.click();
  };

  step("first run: set up the device");
  await (await $("name")).waitForDisplayed({ timeout: WAIT });
  timings.start_to_first_screen_ms = Date.now() - launched;
  await shot("01-welcome");
  await type("name", "Ana");
  await type("passphrase", PASSPHRASE);
  await type("passphrase-again", PASSPHRASE);
  await (await $("strength")).waitForDisplayed({ timeout: WAIT });
  await click("setup");

  step("the join screen offers the camera; with none here, it says so in a sentence");
  await click("go-join");
  await click("scan");
  await browser.waitUntil(async () => (await browser.$(".scanner").getText()).includes("No camera could be opened"), { timeout: WAIT });
  await click("join-back");

  step("create a group");
  await type("group-name", "Tenants' Association");
  await click("create-group");
  await (await $("group-title")).waitForDisplayed({ timeout: WAIT });

  step("an empty title gets a sentence, not a dump");
  await click("add-meeting");
  const error = await $("error");
  await error.waitForDisplayed({ timeout: WAIT });
  const sentence = await error.getText();
  if (!/^[A-Z].*\.$/.test(sentence) || /Error|panick|\{|at /.test(sentence)) throw new Error(`not a sentence: ${sentence}`);

  step("add a meeting, type minutes, tick attendance, record a decision");
  await type("meeting-title", "General meeting");
  await click("add-meeting");
  await (await $("meeting-page")).waitForDisplayed({ timeout: WAIT });
  await type("minutes", "We will meet the landlord on Monday.");
  await click("present-Ana");
  await type("decision-title", "Ask for repairs in writing");
  await click("add-decision");
  await browser.waitUntil(async () => (await (await $("decisions")).getText()).includes("Ask for repairs"), { timeout: WAIT });
  await browser.waitUntil(async () => (await (await $("present-Ana")).isSelected()), { timeout: WAIT });
  await shot("02-meeting");

  step("export");
  await click("nav-export");
  await click("export");
  await browser.waitUntil(async () => (await (await $("export-text")).getText()).includes("We will meet the landlord"), { timeout: WAIT });
  await click("export-archive");
  await browser.waitUntil(async () => (await (await $("archive-path")).getText()).endsWith(".json"), { timeout: WAIT });
  await shot("03-export");

  step("members and the safety number");
  await click("nav-members");
  await browser.waitUntil(async () => (await (await $("safety-number")).getText()).replace(/\D/g, "").length >= 30, { timeout: WAIT });
  await shot("04-members");

  step("the charter, a role for a term, and the vitality page");
  await click("nav-charter");
  await type("charter-purpose", "Safe, affordable homes for every tenant in the building.");
  await type("charter-cadence", "whenever");
  await click("charter-save");
  await browser.waitUntil(async () => (await (await $("error")).getText()).includes("not a meeting cadence"), { timeout: WAIT });
  await type("charter-cadence", "monthly");
  await click("charter-save");
  await type("role-name", "facilitator");
  await click("role-grant");
  await browser.waitUntil(async () => (await (await $("roles")).getText()).includes("Ana: facilitator"), { timeout: WAIT });
  await shot("05-charter-and-roles");
  await click("nav-vitality");
  await browser.waitUntil(async () => (await (await $("vitality-summary")).getText()).includes("meeting"), { timeout: WAIT });
  await (await browser.$('[data-testid="chart-attendance"] canvas')).waitForExist({ timeout: WAIT });
  await shot("06-vitality");

  step("listening: record a one-on-one, share a story from it, name a pattern from the story");
  const idOf = async (prefix) =>
    await browser.execute((p) => document.querySelector(`[data-testid^="${p}"]`)?.getAttribute("data-testid")?.slice(p.length), prefix);
  await click("nav-listening");
  await type("ooo-with", "Dee");
  await type("ooo-keeps", "The rota changes every week and nobody can plan childcare.");
  await type("ooo-next", "Come to the next meeting");
  await click("record-one-on-one");
  await browser.waitUntil(async () => (await (await $("one-on-one-notice")).getText()).includes("only on your own devices"), { timeout: WAIT });
  const oneOnOne = await idOf("share-story-");
  if (!oneOnOne) throw new Error("the recorded one-on-one is not listed");
  const notesLine = await (await $(`readable-${oneOnOne}`)).getText();
  if (!notesLine.includes("only you")) throw new Error(`the one-on-one's notes read as "${notesLine}"`);
  await click(`share-story-${oneOnOne}`);
  await type("story-text", "Nobody on nights can plan childcare.");
  await click("story-share");
  await browser.waitUntil(async () => (await (await $("story-notice")).getText()).includes("Story shared"), { timeout: WAIT });
  const story = await idOf("story-name-pattern-");
  await shot("15-listening");
  await click(`story-name-pattern-${story}`);
  await type("pattern-name", "Scheduling makes us invisible");
  await click("name-pattern");
  await browser.waitUntil(async () => (await (await $("patterns")).getText()).includes("Scheduling makes us invisible"), { timeout: WAIT });
  const pattern = await idOf("pattern-stories-");
  await browser.waitUntil(async () => (await (await $(`pattern-stories-${pattern}`)).getText()).includes("Nobody on nights"), { timeout: WAIT });
  await shot("16-pattern");

  step("a compartment: create it, move a record into it, see who can read it");
  await click("nav-members");
  await type("compartment-name", "Negotiation team");
  await click("create-compartment");
  await browser.waitUntil(async () => (await (await $("compartment-notice")).getText()).includes("Negotiation team created"), { timeout: WAIT });
  await click("nav-meetings");
  await type("meeting-title", "Offer review");
  await click("add-meeting");
  await (await $("meeting-page")).waitForDisplayed({ timeout: WAIT });
  const offer = await browser.execute(() => {
    const line = [...document.querySelectorAll('[data-testid="meeting-page"] [data-testid^="readable-"]')][0];
    return line?.getAttribute("data-testid")?.slice("readable-".length);
  });
  if (!offer) throw new Error("the meeting page shows no 'who can read this' line");
  const before = await (await $(`readable-${offer}`)).getText();
  if (!before.includes("the whole group")) throw new Error(`a new meeting reads as "${before}"`);
  await click(`move-${offer}`);
  const destination = await browser.execute((id) => {
    const select = document.querySelector(`[data-testid="move-to-${id}"]`);
    return [...select.options].find((o) => o.textContent.startsWith("Negotiation team"))?.value;
  }, offer);
  await (await $(`move-to-${offer}`)).selectByAttribute("value", destination);
  await click(`move-confirm-${offer}`);
  await browser.waitUntil(async () => (await (await $(`readable-${offer}`)).getText()).includes("Negotiation team"), { timeout: WAIT });
  await shot("17-moved-into-compartment");

  step("vitality counts the listening, never per person");
  await click("nav-vitality");
  await browser.waitUntil(async () => (await (await $("listening-this-month")).getText()).includes("1"), { timeout: WAIT });
  await shot("18-vitality-listening");

  step("keyboard only: Tab reaches the next section, Enter opens it");
  await click("nav-meetings");
  await browser.execute(() => document.querySelector('[data-testid="nav-meetings"]')?.focus());
  await browser.keys(["Tab"]);
  const focused = await browser.execute(() => document.activeElement?.getAttribute("data-testid"));
  if (focused !== "nav-actions") throw new Error(`Tab went to ${focused}, not to the next section`);
  await browser.keys(["Enter"]);
  await browser.waitUntil(async () => (await (await $("nav-actions")).getAttribute("aria-current")) === "page", { timeout: WAIT });

  step("readable at 200% zoom: no page runs off the side");
  await browser.execute(() => { document.documentElement.style.zoom = "2"; });
  for (const section of ["meetings", "actions", "listening", "patterns", "members", "charter", "vitality", "invite", "export"]) {
    // WebDriver's own click misjudges positions under CSS zoom: the button is clicked from the page instead.
    await browser.execute((id) => document.querySelector(`[data-testid="${id}"]`).click(), `nav-${section}`);
    await new Promise((ok) => setTimeout(ok, 300));
    const [scroll, client] = await browser.execute(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    if (scroll > client + 1) throw new Error(`at 200% zoom the ${section} page is ${scroll}px wide in a ${client}px window`);
    if (section === "charter") await shot("07-zoom-200-charter");
  }
  await browser.execute(() => { document.documentElement.style.zoom = ""; });

  step("a second device joins in person");
  peer(["init", "--name", "Bea"]);
  const serve = spawn(cli, ["serve", "--loopback"], { env: peerEnv, stdio: ["ignore", "ignore", "inherit"] });
  children.push(serve);
  await new Promise((ok) => setTimeout(ok, 1500));
  await click("nav-invite");
  await click("invite-member");
  const qrText = (await (await $("qr-text")).getProperty("textContent")).trim();
  await shot("08-invite");
  const joining = joinInPerson(peerEnv, qrText);
  await (await $("words")).waitForDisplayed({ timeout: WAIT });
  const words = await (await $("words")).getText();
  await shot("09-compare-words");
  await click("words-match");
  const code = await joining.exited;
  if (code !== 0) throw new Error(`the peer could not join: ${joining.output()}`);
  if (!joining.output().includes(words)) throw new Error(`the two devices showed different words: ${words} / ${joining.output()}`);
  await (await $("flow-done")).waitForDisplayed({ timeout: WAIT });

  step("the peer's edit appears in the window");
  await click("nav-meetings");
  await (await browser.$("button*=General meeting")).click();
  await (await $("minutes")).waitForDisplayed({ timeout: WAIT });
  const meetings = JSON.parse(peer(["meeting", "list", "--json"]));
  const meeting = meetings[0].id;
  const edited = Date.now();
  peer(["minutes", "append", meeting, "Bea: the landlord agreed to meet."]);
  await browser.waitUntil(async () => (await (await $("minutes")).getValue()).includes("landlord agreed"), {
    timeout: WAIT,
    interval: 50,
  });
  timings.peer_edit_to_window_ms = Date.now() - edited;
  // Four more, once the devices have been in touch for a while: the steady-state figure.
  timings.later_peer_edits_ms = [];
  for (let i = 1; i <= 4; i++) {
    const started = Date.now();
    peer(["minutes", "append", meeting, `Bea: note ${i}.`]);
    await browser.waitUntil(async () => (await (await $("minutes")).getValue()).includes(`note ${i}.`), { timeout: WAIT, interval: 50 });
    timings.later_peer_edits_ms.push(Date.now() - started);
  }
  await browser.waitUntil(async () => (await (await $("sync-badge")).getText()).startsWith("Online"), { timeout: WAIT });
  await shot("10-peer-edit");

  step("a conflict: both devices change the meeting rhythm while apart; the window shows both and keeps one");
  const stopped = new Promise((ok) => serve.on("exit", ok));
  serve.kill("SIGINT");
  await stopped;
  peer(["charter", "edit", "--cadence", "every 2 weeks"]);
  await click("nav-charter");
  await type("charter-cadence", "weekly");
  await click("charter-save");
  children.push(spawn(cli, ["serve", "--loopback"], { env: peerEnv, stdio: ["ignore", "ignore", "inherit"] }));
  await browser.waitUntil(
    async () => {
      const conflict = await $("conflict");
      return (await conflict.isExisting()) && (await conflict.getText()).includes("every 2 weeks");
    },
    { timeout: WAIT },
  );
  await shot("11-conflict");
  await (await browser.$("button*=every 2 weeks")).click();
  await browser.waitUntil(async () => !(await (await $("conflict")).isExisting()), { timeout: WAIT });
  const kept = await (await $("charter-cadence")).getValue();
  if (kept !== "every 2 weeks") throw new Error(`kept "${kept}", not the value chosen`);

  step("records carried by file: save them for another device, load the peer's file");
  await click("nav-export");
  await click("save-records");
  await browser.waitUntil(async () => (await (await $("records-saved")).getText()).includes(".sscf"), { timeout: WAIT });
  const carried = join(scratch, "from-bea.sscf");
  peer(["carry", "export", "--output", carried]);
  await (await $("load-records")).setValue(carried);
  await browser.waitUntil(async () => (await (await $("records-loaded")).getText()).includes("From Bea's device"), { timeout: WAIT });
  await shot("19-carried-by-file");

  step("remove a member, with a confirmation that says what they could already read");
  await click("nav-members");
  await click("remove-Bea");
  await type("removal-reason", "Moved away");
  await click("confirm-removal");
  await browser.waitUntil(async () => (await (await $("removal-notice")).getText()).includes("could already read"), { timeout: WAIT });
  await browser.waitUntil(async () => !(await (await $("remove-Bea")).isExisting()), { timeout: WAIT });
  if (await (await $("remove-Ana")).isExisting()) throw new Error("the window offers to remove this device's own member");
  await shot("12-removed");

  step("link another of this person's devices, in person, the same way");
  const phoneEnv = { ...peerEnv, SUNSPACE_HOME: join(scratch, "phone") };
  const phoneCli = (args) => sunspace(phoneEnv, args);
  phoneCli(["init", "--name", "Ana"]);
  children.push(spawn(cli, ["serve", "--loopback"], { env: phoneEnv, stdio: ["ignore", "ignore", "inherit"] }));
  await new Promise((ok) => setTimeout(ok, 1500));
  const phoneDevice = JSON.parse(phoneCli(["device", "show", "--json"])).device;
  await click("nav-invite");
  await click("invite-device");
  const deviceQr = (await (await $("qr-text")).getProperty("textContent")).trim();
  const linking = joinInPerson(phoneEnv, deviceQr);
  await (await $("words")).waitForDisplayed({ timeout: WAIT });
  await click("words-match");
  if ((await linking.exited) !== 0) throw new Error(`the second device could not be linked: ${linking.output()}`);
  await (await $("flow-done")).waitForDisplayed({ timeout: WAIT });
  await click("nav-members");
  await browser.waitUntil(async () => (await (await $("members")).getText()).includes(`device ${phoneDevice.slice(0, 8)}`), { timeout: WAIT });
  await shot("13-second-device");

  step("revoke that second device, as for a lost phone");
  await click(`revoke-${phoneDevice.slice(0, 8)}`);
  await click("confirm-revoke");
  await browser.waitUntil(async () => (await (await $("removal-notice")).getText()).includes("was revoked"), { timeout: WAIT });
  await browser.waitUntil(async () => !(await (await $(`revoke-${phoneDevice.slice(0, 8)}`)).isExisting()), { timeout: WAIT });
  await shot("14-device-revoked");
  console.log(`e2e: passed; timings ${JSON.stringify(timings)}`);
  writeFileSync(join(artifacts, "timings.json"), JSON.stringify(timings, null, 2));
} catch (error) {
  failed = true;
  console.error(`e2e: FAILED: ${error?.stack ?? error}`);
  spawnSync("import", ["-window", "root", join(artifacts, "failure.png")]);
} finally {
  if (browser) await browser.deleteSession().catch(() => {});
  for (const child of children.reverse()) child.kill("SIGINT");
  await new Promise((ok) => setTimeout(ok, 500));
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
