// The layering table holds: every relative import in src/, drivers/ and adapters/ lands in the
// importing folder itself or in a folder its row allows. The rules are the "Layering" table of
// docs/architecture.md, copied into `importsAllowed` below; change both together (the last test
// checks that they name the same folders). Imports are read from the syntax tree, so commented-out
// code and strings that look like imports do not count, and `import type` counts like any other.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const rootsChecked = ['src', 'drivers', 'adapters'] as const;

/**
 * docs/architecture.md, "Layering": each folder (or file, for `src/node.ts`) and the folders of
 * ours it may import besides itself. A folder's subfolders belong to it (`src/server/sql/` is
 * `src/server/`).
 */
const importsAllowed: Readonly<Record<string, readonly string[]>> = {
  'src/sql/': [],
  'src/wire/': [],
  'src/raft/': [],
  'src/retry/': [],
  'src/storage/': ['src/raft/', 'src/retry/'],
  'src/transport/': ['src/raft/', 'src/wire/', 'src/retry/'],
  'src/fsm/': ['src/raft/', 'src/storage/', 'src/wire/', 'src/retry/'],
  'src/server/': [
    'src/sql/',
    'src/wire/',
    'src/raft/',
    'src/retry/',
    'src/storage/',
    'src/transport/',
    'src/fsm/',
  ],
  'src/http/': ['src/server/', 'src/raft/', 'src/storage/', 'src/wire/'],
  'src/node.ts': ['src/server/', 'src/raft/', 'src/transport/', 'src/retry/', 'src/http/'],
  'drivers/client/': ['src/wire/', 'src/retry/'],
  'drivers/pool/': ['drivers/client/', 'src/sql/', 'src/retry/'],
  'drivers/backup/': ['drivers/pool/', 'drivers/client/', 'src/sql/'],
  'adapters/knex/': ['drivers/pool/', 'drivers/client/', 'src/retry/'],
  'adapters/drizzle/': ['drivers/pool/', 'drivers/client/', 'src/retry/'],
  'adapters/kysely/': ['drivers/pool/', 'drivers/client/', 'src/retry/'],
};

interface Offence {
  readonly file: string;
  readonly specifier: string;
  readonly reason: string;
}

/** Repository-relative paths, with forward slashes, of the .ts files under `directory`. */
function typescriptFiles(directory: string): string[] {
  const files: string[] = [];
  for (const entry of fs.readdirSync(path.join(repositoryRoot, directory), {
    withFileTypes: true,
  })) {
    const relative = `${directory}/${entry.name}`;
    if (entry.isDirectory()) files.push(...typescriptFiles(relative));
    else if (entry.isFile() && entry.name.endsWith('.ts')) files.push(relative);
  }
  return files;
}

/**
 * Module specifiers of `import … from`, `export … from`, `import '…'`, `import('…')` and the
 * type-position `import('…').Name`, in source order.
 */
function importSpecifiers(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true);
  const specifiers: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier !== undefined &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      specifiers.push(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      specifiers.push(node.arguments[0].text);
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      specifiers.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specifiers;
}

/** The table row a repository-relative path belongs to, or undefined if no row covers it. */
function rowOf(relativePath: string): string | undefined {
  let best: string | undefined;
  for (const row of Object.keys(importsAllowed)) {
    const covers = row.endsWith('/') ? relativePath.startsWith(row) : relativePath === row;
    if (covers && (best === undefined || row.length > best.length)) best = row;
  }
  return best;
}

/** Where an import lands, named for the message: its row, else its folder, else its file. */
function destinationOf(target: string): string {
  const row = rowOf(target);
  if (row !== undefined) return row;
  const folder = path.posix.dirname(target);
  return folder === '.' ? target : `${folder}/`;
}

function offencesIn(file: string): Offence[] {
  const row = rowOf(file);
  if (row === undefined) {
    return [{ file, specifier: '', reason: 'is in no row of the layering table' }];
  }
  const text = fs.readFileSync(path.join(repositoryRoot, file), 'utf8');
  const offences: Offence[] = [];
  for (const specifier of importSpecifiers(file, text)) {
    if (!specifier.startsWith('.')) continue; // a package, or a node: builtin
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
    const destination = destinationOf(target);
    if (destination === row || importsAllowed[row]!.includes(destination)) continue;
    offences.push({ file, specifier, reason: `lands in ${destination}, which ${row} may not use` });
  }
  return offences;
}

function describeOffences(offences: readonly Offence[]): string {
  return offences
    .map(({ file, specifier, reason }) =>
      specifier === '' ? `${file} ${reason}` : `${file} -> ${specifier} (${reason})`,
    )
    .join('\n');
}

describe('layering (docs/architecture.md)', () => {
  it('reads every kind of import, and nothing else', () => {
    const text = [
      "import { a } from './a.js';",
      "import type { B } from '../b/b.js';",
      "import './side-effect.js';",
      "export { c } from './c.js';",
      "export * from '../d/index.js';",
      "const e = await import('./e.js');",
      "type F = import('../f/f.js').F;",
      "// import { g } from './g.js';",
      'const h = "import { h } from \'./h.js\'";',
      'const i = await import(`./${name}.js`);',
    ].join('\n');
    expect(importSpecifiers('example.ts', text)).toEqual([
      './a.js',
      '../b/b.js',
      './side-effect.js',
      './c.js',
      '../d/index.js',
      './e.js',
      '../f/f.js',
    ]);
  });

  it('finds source files to check', () => {
    const files = rootsChecked.flatMap((root) => typescriptFiles(root));
    expect(files.length).toBeGreaterThan(100);
    expect(files).toContain('src/node.ts');
  });

  it('has every folder import only what its row allows', () => {
    const offences = rootsChecked
      .flatMap((root) => typescriptFiles(root))
      .flatMap((file) => offencesIn(file));
    expect(
      offences.length,
      `${offences.length} imports break the layering table:\n${describeOffences(offences)}\n`,
    ).toBe(0);
  });

  it('encodes the same rows as the table in docs/architecture.md', () => {
    const doc = fs.readFileSync(path.join(repositoryRoot, 'docs/architecture.md'), 'utf8');
    const section = doc.split(/^## Layering$/m)[1]!.split(/^## /m)[0]!;
    const rowsInDoc = [...section.matchAll(/^\| `([^`]+)`/gm)]
      .map((match) => match[1]!)
      .flatMap((folder) => {
        const braces = /^(.*)\{([^}]+)\}(.*)$/.exec(folder);
        if (braces === null) return [folder];
        return braces[2]!.split(',').map((name) => `${braces[1]}${name}${braces[3]}`);
      })
      .filter((folder) => rootsChecked.some((root) => folder.startsWith(`${root}/`)));
    expect(rowsInDoc.sort()).toEqual(Object.keys(importsAllowed).sort());
  });
});
