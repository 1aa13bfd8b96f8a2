// W1 / W1h peer: automerge-repo 2.x, two repos reconnecting over a loopback WebSocket.
//
//   node run.mjs OPS.json
//
// OPS.json is what `sunspace-bench ops` prints. Both repos start from the same base document (same document id,
// same history), each makes its own edits while there is no connection, then B connects to A over
// ws://127.0.0.1 and we time how long until both hold the same heads and every edit. stdout gets exactly one line
// of JSON; everything else goes to stderr.

import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";

import * as A from "@automerge/automerge";
import { Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter, WebSocketServerAdapter } from "@automerge/automerge-repo-network-websocket";
import { WebSocketServer } from "ws";

const TIMEOUT_MS = 120_000; // give up (exit 1) if the two sides have not converged by then
const POLL_MS = 2; // fallback poll for convergence, besides the handles' change events
const QUIET_MS = 300; // after convergence, how long without a message counts as "settled"
const DATE = "2026-11-20";

const log = (...args) => console.error("[automerge-repo]", ...args);
// TRACE=1 logs every WebSocket message (direction, time since connecting, size) to stderr.
const TRACE = Boolean(process.env.TRACE);

function fail(message) {
  console.error(`automerge-repo peer: ${message}`);
  process.exit(1);
}

/** The version of an installed package, found by walking up from its resolved entry point. */
function installedVersion(name) {
  let dir = dirname(fileURLToPath(import.meta.resolve(name)));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      if (pkg.name === name) return pkg.version;
    } catch {
      // no package.json here (or not this package's): keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) return "unknown";
    dir = parent;
  }
}

/** A fresh record id, shaped like Sunspace's (32 lowercase hex digits), so that decisions made apart never clash. */
const newId = () => randomUUID().replaceAll("-", "");

const decision = (title) => ({ title, method: "consent", outcome: "agreed", date: DATE });

/** Replays one op on a handle, as one change. */
function apply(handle, op) {
  switch (op.op) {
    case "append":
      handle.change((doc) => {
        // A text splice at the end, not an assignment: concurrent appends then merge instead of conflicting.
        A.splice(doc, ["meeting", "minutes"], doc.meeting.minutes.length, 0, op.text);
      });
      break;
    case "attend":
      handle.change((doc) => {
        doc.meeting.attendance[op.name] = { new_face: op.new_face };
      });
      break;
    case "decide":
      handle.change((doc) => {
        doc.decisions[newId()] = decision(op.title);
      });
      break;
    default:
      fail(`unknown op ${JSON.stringify(op)}`);
  }
}

/** What both documents must hold once every op has arrived, worked out from the op list alone. */
function expected(ops) {
  const all = [...ops.a, ...ops.b];
  let minutes = ops.base.minutes.length;
  for (const text of ops.base.earlier) minutes += text.length;
  for (const op of all) if (op.op === "append") minutes += op.text.length;
  // Each side's last word on each name (base names start as not new). If both sides recorded the same name with
  // different new_face values, automerge picks one of the concurrent values, so the number of new faces is not
  // known in advance and is left unchecked (sunspace-bench never does that: its names carry the side's prefix).
  const finalFaces = (side) => new Map(side.filter((op) => op.op === "attend").map((op) => [op.name, op.new_face]));
  const [facesA, facesB] = [finalFaces(ops.a), finalFaces(ops.b)];
  const names = new Map(ops.base.attendance.map((name) => [name, false]));
  let ambiguous = false;
  for (const [name, newFace] of [...facesA, ...facesB]) {
    if (facesA.has(name) && facesB.has(name) && facesA.get(name) !== facesB.get(name)) ambiguous = true;
    names.set(name, newFace);
  }
  return {
    minutes,
    attendance: names.size,
    newFaces: ambiguous ? null : [...names.values()].filter(Boolean).length,
    decisions: ops.base.decisions.length + all.filter((op) => op.op === "decide").length,
  };
}

/** What a document holds, in the same terms as `expected` (`want.newFaces` null: not counted). */
function holds(doc, want) {
  const attendance = Object.values(doc.meeting.attendance);
  return {
    minutes: doc.meeting.minutes.length,
    attendance: attendance.length,
    newFaces: want.newFaces === null ? null : attendance.filter((entry) => entry.new_face).length,
    decisions: Object.keys(doc.decisions).length,
  };
}

const sameHolding = (x, y) => JSON.stringify(x) === JSON.stringify(y);
const sortedHeads = (handle) => [...A.getHeads(handle.doc())].sort();
const sameHeads = (x, y) => x.length === y.length && x.every((head, i) => head === y[i]);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const path = process.argv[2];
  if (!path) fail("usage: node run.mjs OPS.json");
  const ops = JSON.parse(readFileSync(path, "utf8"));
  const want = expected(ops);
  log(`${path}: ${ops.a.length} + ${ops.b.length} edits, ${ops.base.earlier.length} earlier changes in the base`);

  // A listens on loopback from the start; listening is not a connection, B only dials in once timing starts. The
  // WebSocket server sits on our own http.Server so that we can also read each TCP socket's raw byte counts.
  const http = createServer();
  await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
  const port = http.address().port;
  const wss = new WebSocketServer({ server: http });

  // Traffic, counted on A's side of the connection: what A's socket receives came from B, what it sends goes to B.
  // Payload bytes of each WebSocket message (what automerge-repo hands to ws), and the TCP sockets for the rest.
  const traffic = { aToB: 0, bToA: 0, messages: 0, lastMessageAt: 0, startedAt: 0 };
  const count = (direction, bytes) => {
    if (direction === "A→B") traffic.aToB += bytes;
    else traffic.bToA += bytes;
    traffic.messages += 1;
    traffic.lastMessageAt = performance.now();
    if (TRACE) log(`${direction} ${(traffic.lastMessageAt - traffic.startedAt).toFixed(1)} ms ${bytes} bytes`);
  };
  const tcpSockets = [];
  http.on("connection", (socket) => tcpSockets.push(socket));
  wss.on("connection", (socket) => {
    socket.on("message", (data) => count("B→A", data.byteLength));
    const send = socket.send.bind(socket);
    socket.send = (data, ...rest) => {
      count("A→B", data.byteLength);
      return send(data, ...rest);
    };
  });
  const tcp = () => ({
    aToB: tcpSockets.reduce((sum, socket) => sum + socket.bytesWritten, 0),
    bToA: tcpSockets.reduce((sum, socket) => sum + socket.bytesRead, 0),
  });

  // No storage adapter on either side: everything is in memory.
  const repoA = new Repo({ network: [new WebSocketServerAdapter(wss)] });
  const repoB = new Repo({ network: [] });

  // The base, built on A: everything but the earlier changes in one change, then each earlier string appended as
  // its own change (W1h), so that the base's history is as long as Sunspace's.
  const attendance = {};
  for (const name of ops.base.attendance) attendance[name] = { new_face: false };
  const decisions = {};
  for (const title of ops.base.decisions) decisions[newId()] = decision(title);
  const handleA = repoA.create({
    meeting: { title: ops.base.title, minutes: ops.base.minutes, attendance },
    decisions,
  });
  for (const text of ops.base.earlier) apply(handleA, { op: "append", text });

  // B gets the very same document: A's saved bytes, imported under A's document id (Repo#import takes a docId in
  // 2.x; without one it would mint a new id). The two sides never talk before timing starts.
  const baseBytes = A.save(handleA.doc());
  const handleB = repoB.import(baseBytes, { docId: handleA.documentId });
  if (handleB.documentId !== handleA.documentId) fail("B's handle has a different document id");
  if (!handleB.isReady()) fail(`B's imported handle is ${handleB.state}, not ready`);
  if (!sameHeads(sortedHeads(handleA), sortedHeads(handleB))) fail("B's base differs from A's");
  log(`base: ${baseBytes.byteLength} bytes saved, ${A.getAllChanges(handleA.doc()).length} changes, id ${handleA.documentId}`);

  // Apart: each side makes its own edits, one change per op.
  for (const op of ops.a) apply(handleA, op);
  for (const op of ops.b) apply(handleB, op);
  // automerge-repo throttles its reaction to local changes (100 ms); let those timers run out with no peer, so
  // that none of the editing phase's work lands inside the timed part.
  await sleep(250);
  if (traffic.messages !== 0 || tcpSockets.length !== 0) fail("the repos were connected before timing started");
  log("edits made apart; connecting");

  // Reconnect, and wait until both sides hold the same heads and everything both made.
  if (TRACE) {
    // automerge-repo's own timings of generating and applying sync messages, to see where the time goes.
    for (const [side, repo] of [["A", repoA], ["B", repoB]]) {
      repo.on("doc-metrics", (m) => {
        if (m.durationMillis !== undefined) {
          log(`${side} ${m.type} at ${(performance.now() - traffic.startedAt).toFixed(1)} ms took ${m.durationMillis.toFixed(1)} ms`);
        }
      });
    }
  }
  const started = performance.now();
  traffic.startedAt = started;
  repoB.networkSubsystem.addNetworkAdapter(new WebSocketClientAdapter(`ws://127.0.0.1:${port}`));
  const converged = await new Promise((resolve) => {
    const check = () => {
      if (!sameHeads(sortedHeads(handleA), sortedHeads(handleB))) return;
      // Equal heads mean both sides hold the same changes, and each side holds its own edits, so both now hold
      // everything: if the content is short of what the ops add up to, it never will be, so stop there.
      if (!sameHolding(holds(handleA.doc(), want), want) || !sameHolding(holds(handleB.doc(), want), want)) {
        return finish({ mismatch: true });
      }
      if (TRACE) log(`converged at ${(performance.now() - started).toFixed(1)} ms`);
      const { aToB, bToA, messages } = traffic;
      finish({ millis: performance.now() - started, aToB, bToA, messages, tcp: tcp() });
    };
    const timer = setInterval(check, POLL_MS);
    const deadline = setTimeout(() => finish(null), TIMEOUT_MS);
    handleA.on("heads-changed", check);
    handleB.on("heads-changed", check);
    function finish(result) {
      clearInterval(timer);
      clearTimeout(deadline);
      handleA.off("heads-changed", check);
      handleB.off("heads-changed", check);
      resolve(result);
    }
  });
  if (!converged) {
    fail(`no convergence within ${TIMEOUT_MS} ms: A holds ${JSON.stringify(holds(handleA.doc(), want))}, ` +
      `B holds ${JSON.stringify(holds(handleB.doc(), want))}, want ${JSON.stringify(want)}`);
  }

  // Check the end state for real (also reached when `check` found equal heads short of the ops): both sides hold
  // every op, and the same document.
  for (const [side, handle] of [["A", handleA], ["B", handleB]]) {
    const got = holds(handle.doc(), want);
    if (!sameHolding(got, want)) fail(`${side} holds ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
  if (JSON.stringify(A.toJS(handleA.doc())) !== JSON.stringify(A.toJS(handleB.doc()))) {
    fail("the two documents differ after sync");
  }

  // The figures above are taken at convergence, as the Sunspace runs do. The protocol may still send a last
  // message or two (acknowledgements); wait for the line to go quiet and report that total too.
  while (performance.now() - Math.max(traffic.lastMessageAt, started) < QUIET_MS) await sleep(20);
  const settled = { a_to_b: traffic.aToB, b_to_a: traffic.bToA, messages: traffic.messages };

  console.log(JSON.stringify({
    library: "automerge-repo",
    version: installedVersion("@automerge/automerge-repo"),
    automerge: installedVersion("@automerge/automerge"),
    storage: "none",
    edits: ops.a.length + ops.b.length,
    base_changes: ops.base.earlier.length,
    millis: Math.round(converged.millis * 10) / 10,
    a_to_b: converged.aToB,
    b_to_a: converged.bToA,
    messages: converged.messages,
    // Raw TCP bytes (WebSocket framing and the HTTP upgrade included), at convergence.
    tcp_a_to_b: converged.tcp.aToB,
    tcp_b_to_a: converged.tcp.bToA,
    settled,
  }));

  // Close everything; the client adapter and the server adapter both leave timers behind, so exit explicitly.
  await Promise.allSettled([repoB.shutdown(), repoA.shutdown()]);
  wss.close();
  http.close();
  process.exit(0);
}

main().catch((error) => fail(error?.stack ?? String(error)));
