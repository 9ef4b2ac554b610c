import { leadingTokens } from '../../sql/sql-text.js';

/**
 * Statements a leader refuses, because what they would do cannot be replicated: the node
 * replicates the pages each transaction writes into its database's WAL (DatabaseSet), so anything
 * that writes elsewhere, takes the WAL away, or checkpoints behind the node's back would leave the
 * nodes different. The full list, with what is replicated instead, is docs/what-replicates.md;
 * each row has a test.
 *
 * Returns the reason to give the client, or undefined when the statement may run. Works on
 * tokens (comments, case and quoting do not matter), and looks only at the statement's start:
 * these are all statements whose kind is fixed by their first words.
 */
export function refusalOf(sql: string): string | undefined {
  // Most statements name none of these words anywhere: no need to tokenize them.
  if (!mentionsRefusable.test(sql)) return undefined;
  const words = leadingTokens(sql, 8);
  switch (words[0]) {
    case 'ATTACH':
      return 'ATTACH is refused: an attached database would be written on the leader only, never replicated';
    case 'VACUUM':
      // VACUUM [schema] INTO 'file' writes a copy on the leader's disk; plain VACUUM is replicated.
      if (words[1] === 'INTO' || words[2] === 'INTO') {
        return 'VACUUM INTO is refused: it writes a file on the leader only (take a backup with DUMP)';
      }
      return undefined;
    case 'PRAGMA':
      return pragmaRefusal(words.slice(1));
    default:
      return undefined;
  }
}

/** Every refused statement starts with one of these words (the cheap test before tokenizing). */
const mentionsRefusable = /ATTACH|VACUUM|PRAGMA/i;

/** PRAGMA [schema.]name [= value | (value)], as tokens after PRAGMA. */
function pragmaRefusal(words: readonly string[]): string | undefined {
  const qualified = words[1] === '.';
  const schema = qualified ? words[0] : undefined;
  const name = qualified ? words[2] : words[0];
  const rest = words.slice(qualified ? 3 : 1);
  const value = rest[0] === '=' || rest[0] === '(' ? valueOf(rest.slice(1)) : undefined;
  const main = schema === undefined || schema === 'MAIN';
  switch (name) {
    case 'JOURNAL_MODE':
      if (main && value !== undefined && value !== 'WAL') {
        return `PRAGMA journal_mode = ${value} is refused: replication needs WAL mode`;
      }
      return undefined;
    case 'LOCKING_MODE':
      if (value !== undefined && value !== 'NORMAL') {
        return `PRAGMA locking_mode = ${value} is refused: the node's own connections share each database`;
      }
      return undefined;
    case 'WAL_CHECKPOINT':
      return 'PRAGMA wal_checkpoint is refused: each node checkpoints its databases itself, between committed transactions';
    case 'WAL_AUTOCHECKPOINT':
      if (value !== undefined) {
        return 'PRAGMA wal_autocheckpoint = N is refused: each node checkpoints its databases itself, between committed transactions';
      }
      return undefined;
    default:
      return undefined;
  }
}

/** A pragma's value: a word, a string, or a signed number ('-' then digits). */
function valueOf(tokens: readonly string[]): string | undefined {
  const first = tokens[0];
  if (first === undefined || first === ')' || first === ';') return undefined;
  if ((first === '-' || first === '+') && tokens[1] !== undefined) return `${first}${tokens[1]}`;
  return first;
}
