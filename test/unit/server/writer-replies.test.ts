import { describe, expect, it } from 'vitest';
import { WriterReplies } from '../../../src/server/sql/writer-replies.js';

describe('WriterReplies', () => {
  it('waits for every writer up to a number, whatever order their replies come in', async () => {
    const replies = new WriterReplies();
    expect(replies.taken(0)).toBeUndefined();
    replies.took(0); // not a writer: nothing changes
    const settled: string[] = [];
    const upTo2 = replies.taken(2);
    const upTo3 = replies.taken(3);
    void upTo2?.then(() => settled.push('2'));
    void upTo3?.then(() => settled.push('3'));
    replies.took(2); // writer 1 (waiting for the write lock) still out
    replies.took(3);
    await Promise.resolve();
    expect(settled).toEqual([]);
    replies.took(1);
    await Promise.all([upTo2, upTo3]);
    expect(settled).toEqual(['2', '3']);
    expect(replies.taken(3)).toBeUndefined();
    expect(replies.taken(4)).toBeInstanceOf(Promise);
  });
});
