import { describe, expect, it } from 'vitest';
import type { Message } from '../../../src/raft/types.js';
import { InteractionSession } from './interaction-session.js';

/**
 * The smallest reproductions of the core bugs described in FINDINGS.md. Each sets up its story
 * with interaction-script commands (testdata/README.md) and then asserts the property the paper
 * or thesis requires, so the test does not depend on how the fix words its messages. They fail
 * until the core is fixed; do not skip them.
 */

/** Runs script lines (blank lines and `#` comments skipped) and returns all output lines. */
function run(session: InteractionSession, script: string): string[] {
  const out: string[] = [];
  script.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    out.push(...session.run(line, i + 1));
  });
  return out;
}

/** A 3-voter cluster with n1 elected and everything delivered. */
function electedCluster(options = ''): InteractionSession {
  const session = new InteractionSession();
  run(session, `cluster voters=3 heartbeat=5 ${options}\ncampaign 1\ndeliver-all`);
  return session;
}

const carries = (message: Message, index: number): boolean =>
  message.type === 'AppendEntries' && message.entries.some((entry) => entry.index === index);

describe('FINDINGS.md', () => {
  it('F1: a successful leadership transfer is not reported as transfer-failed (thesis §3.10)', () => {
    const session = electedCluster();
    const out = run(session, 'transfer 1 to=3\ndeliver-all');
    expect(session.cluster.node(3).driver.core.status().role).toBe('leader');
    expect(out.filter((line) => line.includes('transfer-failed'))).toEqual([]);
  });

  it('F2: a lost AppendEntries is sent again although the follower answers heartbeats', () => {
    // n2 is down; the append of "x" to n3 is lost. n3 answers every heartbeat, so the leader
    // hears from it; "x" must still reach n3 and commit (§5.3: "the leader retries AppendEntries
    // RPCs indefinitely until all followers eventually store all log entries").
    const session = electedCluster();
    run(session, 'crash 2\npropose 1 x\ndrop to=3');
    for (let round = 0; round < 4; round++) run(session, 'tick 1 n=5\ndeliver-all');
    expect(session.cluster.node(3).driver.core.status().lastIndex).toBe(3);
    expect(session.cluster.node(1).driver.core.status().commitIndex).toBe(3);
  });

  it('F2: a lost acknowledgement is recovered although the follower answers heartbeats', () => {
    const session = electedCluster();
    run(session, 'crash 2\npropose 1 x\ndeliver to=3\ndrop from=3');
    for (let round = 0; round < 4; round++) run(session, 'tick 1 n=5\ndeliver-all');
    expect(session.cluster.node(1).driver.core.status().commitIndex).toBe(3);
  });

  it('F3: a heartbeat answer does not re-send a probe that is still unanswered', () => {
    // n2 (empty log) is being promoted; the leader probes it at index 5 (with "c", index 6). A
    // heartbeat round sends a heartbeat (anchored at n2's known match, 0) and one probe. The
    // heartbeat's answer says nothing about index 5, so it must not release a second probe
    // while the first is unanswered (progress.ts: probe sends one AppendEntries and waits).
    const session = new InteractionSession();
    run(
      session,
      `cluster voters=1 heartbeat=5
       campaign 1
       add 1 id=2
       propose 1 a
       propose 1 b
       assign 1 id=2 role=voter
       drop to=2
       propose 1 c
       tick 1 n=5
       deliver to=2 heartbeat=true
       deliver from=2`,
    );
    const probes = session.cluster.queue.filter(
      (message) => message.type === 'AppendEntries' && message.to === 2,
    );
    expect(
      probes.map((message) => message.type === 'AppendEntries' && message.prevLogIndex),
    ).toEqual([5]);
  });

  it('F4: ReadIndex rounds do not make followers with appends in flight fall back to probe', () => {
    // Two reads while "x" is on its way: the heartbeat rounds of reads are not evidence that the
    // append was lost, and must not make the leader send "x" again.
    const session = electedCluster();
    run(session, 'propose 1 x\nread 1 id=1\nread 1 id=2\nread 1 id=3');
    const copies = session.cluster.queue.filter(
      (message) => message.to === 2 && carries(message, 3),
    );
    expect(copies).toHaveLength(1);
  });

  it('F5: a leader whose transfer sent TimeoutNow serves no read from its lease (§6.4.1, §3.10)', () => {
    // n1 holds a lease and transfers to n2. n2 wins with n3's vote at once (transfer votes ignore
    // stickiness) and commits "new"; n1 is cut off before it hears of it. A read served by n1
    // from its lease now returns state without "new": not linearizable.
    const session = electedCluster('lease=true');
    run(session, 'read 1 id=1\ndeliver-all\ntransfer 1 to=2\ndeliver type=TimeoutNow\nisolate 1');
    run(session, 'deliver-all\npropose 2 new\ndeliver-all');
    expect(session.cluster.node(2).driver.core.status()).toMatchObject({ role: 'leader' });
    expect(session.cluster.node(2).fsm.texts()).toEqual(['new']);
    const out = run(session, 'read 1 id=2');
    expect(out.filter((line) => line.startsWith('n1 read id=2'))).toEqual([]);
  });

  it('F7: the driver serves a read only once the state machine applied the read index', () => {
    // The leader's disk is slow: "x" commits on n2 and n3 before n1 stored it, so n1's commit
    // index (3) is ahead of what it applied (2). Ready contract step 7: serve a read state only
    // once the state machine has applied its index.
    const session = new InteractionSession();
    run(
      session,
      `cluster voters=3 heartbeat=5 manual=1
       campaign 1
       deliver-all
       sync 1
       deliver-all
       sync 1
       deliver-all
       propose 1 x
       deliver-all
       read 1 id=7`,
    );
    const out = run(session, 'deliver-all');
    const served = out.map((line) => /n1 read id=7 index=(\d+) applied=(\d+)/.exec(line));
    for (const match of served) {
      if (match !== null) expect(Number(match[2])).toBeGreaterThanOrEqual(Number(match[1]));
    }
  });

  it('F8: an isolated leader steps down within an election timeout of its last quorum (§6.2)', () => {
    // The followers last answered right after the check at tick 10. Thesis §6.2: a leader steps
    // down "if an election timeout elapses without a successful round of heartbeats to a
    // majority"; by tick 20 (21, allowing for where the count starts) it must no longer lead.
    const session = electedCluster();
    run(session, 'tick 1 n=10\ndeliver-all\nisolate 1\ntick 1 n=11');
    expect(session.cluster.node(1).driver.core.status().role).not.toBe('leader');
  });
});
