/** Where the package is installed: the native addon and package.json are found from there. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The nearest folder above this module that holds a package.json: the package's root, whether this
 * module runs from src/ (development), dist/ (compiled) or a bundled chunk of the CLI.
 */
export const packageRoot = (from: string = fileURLToPath(import.meta.url)): string => {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`vfio-user-rx: no package.json above ${from}`);
  }
};
