// The status page in a real browser (Debian's chromium, driven by playwright-core): a follower's
// page shows the leader, and after the leader's process is killed (SIGKILL) it shows the new
// one. Locally a missing chromium skips this file with one loud line; on CI (CI=true) it is an
// error, as a missing interop peer is (test/interop/peer-available.ts). CI installs it:
// apt-get install -y chromium.
import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster, type LocalNode } from '../../bin/local-cluster.js';
import { connect } from '../../index.js';
import { waitUntil } from '../interop/poll-until.js';
import { checkAndStop } from './node-content.js';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function requireChromium(): boolean {
  if (fs.existsSync(chromiumPath)) return true;
  const reason = `${chromiumPath} is missing (apt-get install -y chromium, or set CHROMIUM_PATH)`;
  if (process.env.CI === 'true') {
    throw new Error(`the status page test needs chromium on CI (CI=true) but ${reason}`);
  }
  console.error(`SKIPPING the status page browser test: ${reason}`);
  return false;
}

describe.skipIf(!requireChromium())('the status page in a browser', () => {
  let cluster: LocalCluster | undefined;
  let browser: Browser;

  beforeAll(async () => {
    cluster = await LocalCluster.start({ nodes: 3, nodeArgs: ['--http', '127.0.0.1:0'] });
    browser = await chromium.launch({ executablePath: chromiumPath });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await checkAndStop(cluster);
  });

  it("shows a follower's view of the leader, and the new leader once the old one is killed", async () => {
    const nodes = (cluster as LocalCluster).nodes;
    const http = new Map(nodes.map((node) => [node.address, node.httpAddress as string]));
    const client = await connect({ cluster: nodes.map((node) => node.address), database: 'page' });
    await client.exec('CREATE TABLE IF NOT EXISTS t (x)');
    await client.exec('INSERT INTO t VALUES (1)');
    const members = await client.cluster();
    const leaderAddress = client.address;
    await client.close();
    const idOf = (address: string) =>
      (members.find((member) => member.address === address)?.id ?? -1n).toString(16);
    const follower = nodes.find((node) => node.address !== leaderAddress) as LocalNode;
    const others = nodes
      .filter((node) => node !== follower)
      .map((node) => http.get(node.address))
      .join(',');
    const page = await browser.newPage();
    await page.goto(`http://${http.get(follower.address)}/?nodes=${others}`);
    const shownLeader = async () =>
      (await page.locator('#leader').getAttribute('data-leader-id')) ?? '';
    await waitUntil(
      async () => (await shownLeader()) === idOf(leaderAddress),
      'the page shows the leader',
      20_000,
    );
    // Every member's row, with the applied index each node reports of itself.
    const appliedColumn = page.locator('#members tr td:nth-child(5)');
    await waitUntil(
      async () => {
        const cells = await appliedColumn.allTextContents();
        return cells.length === 3 && cells.every((text) => /^\d+$/.test(text));
      },
      'every applied index shown',
      20_000,
    );

    await (cluster as LocalCluster).kill(leaderAddress);
    const survivors = nodes
      .filter((node) => node.address !== leaderAddress)
      .map((node) => idOf(node.address));
    await waitUntil(
      async () => survivors.includes(await shownLeader()),
      'the page shows a new leader',
      30_000,
    );
    // The follower saw at least the first leader and the new one.
    expect(await page.locator('#changes li').count()).toBeGreaterThanOrEqual(2);
    await page.close();
    // The cluster goes on writing; afterAll checks that the survivors hold the same data.
    const after = await connect({ cluster: nodes.map((node) => node.address), database: 'page' });
    await after.exec('INSERT INTO t VALUES (2)');
    await after.close();
  }, 90_000);
});
