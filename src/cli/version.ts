// `icebridge --version`: the version in the package's own package.json, found by walking up from this file
// (src/cli/ when run from source, dist/ in the installed bundle), so that it can never disagree with it.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageVersion(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'icebridge' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no package.json here (or not readable): keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the icebridge package.json to read the version from');
    dir = parent;
  }
}
