// After `tsc`: type declarations for CommonJS callers. The package is ESM; Node >= 20.19 and
// >= 22.12 load it from CommonJS through require(esm), but TypeScript (module node16) refuses a
// `require` of an ES module's .d.ts. For each entry point, an index.d.cts beside its index.d.ts
// declares the same module as what `require` returns; package.json's "require" condition names it.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const packageJson = JSON.parse(readFileSync('package.json', 'utf8'));
for (const [subpath, target] of Object.entries(packageJson.exports)) {
  const esmTypes = target.types;
  const cjsTypes = target.require?.types;
  if (cjsTypes !== esmTypes.replace(/\.d\.ts$/, '.d.cts')) {
    throw new Error(
      `package.json exports["${subpath}"].require.types must be ${esmTypes} as .d.cts`,
    );
  }
  const module = `./${path.basename(esmTypes, '.d.ts')}.js`;
  writeFileSync(
    cjsTypes,
    `// What require('dqlite-ts${subpath.slice(1)}') returns: the ES module itself.\n` +
      `declare const esm: typeof import('${module}', { with: { 'resolution-mode': 'import' } });\n` +
      'export = esm;\n',
  );
}
