// The status page in a real browser (Debian's chromium, driven by playwright-core): a follower's
// page shows the leader, and after the leader is closed it shows the new one. Locally a missing
// chromium skips this file with one loud line; on CI (CI=true) it is an error, as a missing
// interop peer is (test/interop/peer-available.ts). CI installs it: apt-get install -y chromium.
import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DqliteNode } from '../../index.js';
import { waitUntil } from '../interop/poll-until.js';
import { startEmbeddedCluster, type EmbeddedCluster } from './embedded-cluster.js';

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
  let cluster: EmbeddedCluster;
  let browser: Browser;

  beforeAll(async () => {
    cluster = await startEmbeddedCluster('status-page', { http: { address: '127.0.0.1:0' } });
    browser = await chromium.launch({ executablePath: chromiumPath });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await cluster?.close();
  });

  it("shows a follower's view of the leader, and the new leader once the old one is closed", async () => {
    await waitUntil(() => cluster.leaderNode() !== undefined, 'a leader');
    const leader = cluster.leaderNode() as DqliteNode;
    const follower = [...cluster.nodes.values()].find((node) => node !== leader) as DqliteNode;
    const others = [...cluster.nodes.values()]
      .filter((node) => node !== follower)
      .map((node) => node.httpAddress)
      .join(',');
    const page = await browser.newPage();
    await page.goto(`http://${follower.httpAddress}/?nodes=${others}`);
    const shownLeader = async () =>
      (await page.locator('#leader').getAttribute('data-leader-id')) ?? '';
    await waitUntil(
      async () => (await shownLeader()) === leader.id.toString(16),
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

    await leader.close();
    cluster.nodes.delete(leader.address);
    await waitUntil(
      async () => {
        const shown = await shownLeader();
        return shown !== '' && shown !== leader.id.toString(16);
      },
      'the page shows a new leader',
      30_000,
    );
    const newLeader = await shownLeader();
    expect([...cluster.nodes.values()].some((node) => node.id.toString(16) === newLeader)).toBe(
      true,
    );
    // The follower saw at least the first leader and the new one.
    expect(await page.locator('#changes li').count()).toBeGreaterThanOrEqual(2);
    await page.close();
  }, 90_000);
});
