// The status page at `/`: one self-contained HTML document (inline CSS and script, nothing
// fetched but status JSON), which polls this node's /status.json every second and, when the URL
// names them (`?nodes=HOST:PORT,...`), the other nodes' too. It renders with textContent only, so
// nothing a node reports is ever parsed as HTML.

/** The page, served as is: no build step, no external asset. */
export const statusPageHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dqlite-ts node status</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d1d1f; background: #fafafa; }
  h1 { font-size: 1.3rem; margin: 0 0 0.5rem; }
  h2 { font-size: 1.05rem; margin: 1.5rem 0 0.4rem; }
  table { border-collapse: collapse; background: #fff; }
  th, td { border: 1px solid #ddd; padding: 0.3rem 0.6rem; text-align: left; }
  td.number { text-align: right; font-variant-numeric: tabular-nums; }
  .leader { font-weight: 600; }
  .bad { color: #b00020; }
  .good { color: #146c2e; }
  .muted { color: #777; }
  #problem:empty { display: none; }
  #problem { padding: 0.5rem; border: 1px solid #b00020; background: #fff0f0; }
</style>
</head>
<body>
<h1>dqlite-ts node <span id="self">…</span></h1>
<p id="problem" class="bad"></p>
<p>Leader: <strong id="leader" data-leader-id="">unknown</strong>
  · term <span id="term">?</span> · this node: <span id="role">?</span>
  · <span id="ready">?</span></p>
<h2>Members</h2>
<table>
  <thead><tr><th>id</th><th>address</th><th>role</th><th></th><th>applied index</th>
    <th>lag (commit − applied)</th><th>match index (leader's view)</th><th>lag (leader's view)</th></tr></thead>
  <tbody id="members"></tbody>
</table>
<p class="muted">Applied index and its lag come from each node itself: this node, and the nodes
  named by <code>?nodes=HOST:PORT,…</code> (their HTTP addresses) in this page's URL. Match index
  and its lag are the leader's view, known when this node leads.</p>
<h2>Recent leader changes</h2>
<ol id="changes" reversed></ol>
<h2>Last content check</h2>
<p id="check" class="muted">none led by this node since it started</p>
<p class="muted">Updated <span id="updated">never</span>.</p>
<script>
"use strict";
const others = (new URLSearchParams(location.search).get("nodes") || "")
  .split(",").map((s) => s.trim()).filter((s) => s !== "");
const reports = new Map();

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text === undefined || text === null ? "—" : String(text);
  if (className) td.className = className;
  row.appendChild(td);
}

function time(ms) {
  return new Date(ms).toLocaleTimeString();
}

function render(status) {
  document.getElementById("self").textContent = status.node.id + " (" + status.node.address + ")";
  const leader = document.getElementById("leader");
  leader.textContent = status.leader ? status.leader.id + " (" + status.leader.address + ")" : "unknown";
  leader.dataset.leaderId = status.leader ? status.leader.id : "";
  document.getElementById("term").textContent = String(status.node.term);
  document.getElementById("role").textContent = status.node.raftRole +
    (status.node.diverged ? ", DIVERGED: " + status.node.diverged : "");
  const ready = document.getElementById("ready");
  ready.textContent = status.ready.ok ? "ready" : "not ready: " + status.ready.reason;
  ready.className = status.ready.ok ? "good" : "bad";
  const byId = new Map([[status.node.id, status.node]]);
  for (const report of reports.values()) if (report.node) byId.set(report.node.id, report.node);
  const body = document.getElementById("members");
  body.replaceChildren();
  for (const member of status.members) {
    const row = document.createElement("tr");
    row.dataset.id = member.id;
    if (member.isLeader) row.className = "leader";
    const own = byId.get(member.id);
    cell(row, member.id);
    cell(row, member.address);
    cell(row, member.role);
    cell(row, [member.isLeader ? "leader" : "", member.isSelf ? "this node" : ""].filter(Boolean).join(", "));
    cell(row, own && own.appliedIndex, "number");
    cell(row, own && own.lagEntries, "number");
    cell(row, member.matchIndex, "number");
    cell(row, member.lagEntries, "number");
    body.appendChild(row);
  }
  const changes = document.getElementById("changes");
  changes.replaceChildren();
  for (const change of status.leaderChanges.slice().reverse()) {
    const item = document.createElement("li");
    item.textContent = time(change.atMs) + ": " + change.leaderId + " leads term " + change.term;
    changes.appendChild(item);
  }
  const check = document.getElementById("check");
  if (status.contentCheck) {
    const c = status.contentCheck;
    check.textContent = time(c.atMs) + ": " + c.verdict +
      (c.index === null ? "" : " at index " + c.index) +
      (c.details.length > 0 ? " — " + c.details.join("; ") : "");
    check.className = c.verdict === "agreed" ? "good" : "bad";
  }
  document.getElementById("updated").textContent = time(Date.now());
}

async function fetchStatus(base) {
  const response = await fetch(base + "/status.json", { cache: "no-store" });
  if (!response.ok) throw new Error(base + "/status.json answered " + response.status);
  return response.json();
}

async function poll() {
  for (const address of others) {
    fetchStatus("http://" + address).then(
      (status) => reports.set(address, status),
      () => reports.delete(address),
    );
  }
  try {
    const status = await fetchStatus("");
    document.getElementById("problem").textContent = "";
    render(status);
  } catch (error) {
    document.getElementById("problem").textContent =
      "This node does not answer (" + error.message + "); the figures below are the last it gave.";
  }
}

poll();
setInterval(poll, 1000);
</script>
</body>
</html>
`;
