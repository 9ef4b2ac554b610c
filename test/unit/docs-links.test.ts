// Every relative link in the repository's Markdown resolves: the file it names exists, and its
// #anchor, if any, names a heading of the target. No network: links with a scheme (https:,
// mailto:) are not followed. Anchors follow GitHub's slugs: lowercase, punctuation dropped,
// spaces turned into hyphens, "-1", "-2", … appended to repeated headings.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const directoriesSkipped = new Set(['node_modules', 'dist', '.git']);

interface Link {
  readonly file: string;
  readonly line: number;
  readonly target: string;
}

function markdownFiles(directory: string): string[] {
  const files: string[] = [];
  for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
    if (directoriesSkipped.has(entry.name)) continue;
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) files.push(...markdownFiles(full));
    else if (entry.isFile() && entry.name.endsWith('.md')) files.push(full);
  }
  return files;
}

/** The text with fenced code blocks blanked (line breaks kept, so line numbers stay right). */
function withoutFencedCode(text: string): string {
  let fence: string | undefined;
  return text
    .split('\n')
    .map((line) => {
      const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
      if (fence === undefined) {
        if (marker !== undefined) fence = marker;
        return marker === undefined ? line : '';
      }
      if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length) {
        fence = undefined;
      }
      return '';
    })
    .join('\n');
}

/** Inline code spans replaced by their content's length in spaces: they hold no links. */
function withoutInlineCode(text: string): string {
  return text.replace(/(`+)[^`]*?\1/g, (span) => ' '.repeat(span.length));
}

/** GitHub's anchor for a heading's text. */
function headingSlug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link reads as its text
    .replace(/`/g, '')
    .replace(/\*\*|__/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{N}\p{M} _-]/gu, '').replace(/ /g, '-');
}

function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFencedCode(text).split('\n')) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = headingSlug(heading);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** Inline links and images, `[text](target)` or `[text](target "title")`, outside code. */
function relativeLinks(file: string, text: string): Link[] {
  const prose = withoutInlineCode(withoutFencedCode(text));
  const links: Link[] = [];
  for (const match of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const target = match[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: …: not ours to check
    const line = prose.slice(0, match.index).split('\n').length;
    links.push({ file, line, target });
  }
  return links;
}

/** Why a link is broken, or undefined when it resolves. */
function brokenReason(link: Link, anchorsOf: (file: string) => Set<string>): string | undefined {
  const hashAt = link.target.indexOf('#');
  const pathPart = hashAt === -1 ? link.target : link.target.slice(0, hashAt);
  const anchor = hashAt === -1 ? undefined : decodeURIComponent(link.target.slice(hashAt + 1));
  const targetFile =
    pathPart === '' ? link.file : path.resolve(path.dirname(link.file), decodeURI(pathPart));
  if (!fs.existsSync(targetFile)) return 'no such file';
  if (anchor === undefined || anchor === '') return undefined;
  if (!targetFile.endsWith('.md')) return undefined; // anchors into code (#L10) are not checked
  return anchorsOf(targetFile).has(anchor) ? undefined : `no heading with anchor #${anchor}`;
}

function brokenLinks(files: readonly string[]): string[] {
  const anchorsCache = new Map<string, Set<string>>();
  const anchorsOf = (file: string): Set<string> => {
    let anchors = anchorsCache.get(file);
    if (anchors === undefined) {
      anchors = headingAnchors(fs.readFileSync(file, 'utf8'));
      anchorsCache.set(file, anchors);
    }
    return anchors;
  };
  const broken: string[] = [];
  for (const file of files) {
    for (const link of relativeLinks(file, fs.readFileSync(file, 'utf8'))) {
      const reason = brokenReason(link, anchorsOf);
      if (reason !== undefined) {
        const where = path.relative(repositoryRoot, link.file);
        broken.push(`${where}:${link.line}: (${link.target}): ${reason}`);
      }
    }
  }
  return broken;
}

describe('Markdown links', () => {
  const files = markdownFiles(repositoryRoot);

  it('finds the Markdown files, the README and docs/ among them', () => {
    const relative = files.map((file) => path.relative(repositoryRoot, file));
    expect(relative).toContain('README.md');
    expect(relative).toContain(path.join('docs', 'architecture.md'));
    expect(relative.some((file) => file.split(path.sep).includes('node_modules'))).toBe(false);
  });

  it('every relative link names an existing file, and every #anchor one of its headings', () => {
    expect(brokenLinks(files)).toEqual([]);
  });
});

describe('the link checker itself', () => {
  it('slugs headings as GitHub does', () => {
    expect(headingSlug('Embedded: `createNode`')).toBe('embedded-createnode');
    expect(headingSlug('A full, slow or read-only disk')).toBe('a-full-slow-or-read-only-disk');
    expect(headingSlug("Where the node's threads divide")).toBe('where-the-nodes-threads-divide');
    expect(headingSlug('Replication: how a write becomes durable')).toBe(
      'replication-how-a-write-becomes-durable',
    );
  });

  it('numbers repeated headings and ignores headings in code blocks', () => {
    const anchors = headingAnchors('# Values\n\n## Values\n\n```sh\n# not a heading\n```\n');
    expect([...anchors]).toEqual(['values', 'values-1']);
  });

  it('reports a missing file and a missing anchor, and skips code, URLs and good links', () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'docs-links-'));
    try {
      const good = path.join(directory, 'good.md');
      const page = path.join(directory, 'page.md');
      fs.writeFileSync(good, '# Title\n\n## Second part\n');
      fs.writeFileSync(
        page,
        [
          '# Page',
          '[ok](good.md) [ok](good.md#second-part) [ok](#page) [web](https://example.com/x)',
          '`[in code](missing.md)`',
          '```md',
          '[in a block](missing.md)',
          '```',
          '[gone](missing.md) [bad anchor](good.md#third-part)',
          '[self](#nowhere)',
        ].join('\n'),
      );
      const broken = brokenLinks([good, page]).map((line) => line.replace(/^.*page\.md:/, ''));
      expect(broken).toEqual([
        '7: (missing.md): no such file',
        '7: (good.md#third-part): no heading with anchor #third-part',
        '8: (#nowhere): no heading with anchor #nowhere',
      ]);
    } finally {
      fs.rmSync(directory, { recursive: true, force: true });
    }
  });
});
