// Builds both tabs from src/ (src/tab: the Architecture tab, src/timeline: the Anomaly
// Timeline; src/common: what they share) into tb_archviz/static/{architecture,timeline}/, and
// the Python-side diagram bundle into tb_archviz/js/. Deterministic: same sources, same bytes.
//   node build.mjs                  build into the package folders
//   node build.mjs --out DIR        build into DIR/{architecture,timeline,js} (used by --check)
//   node build.mjs --check          rebuild into a temp dir, fail if committed files differ
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = resolve(here, '..', 'tb_archviz');
const args = process.argv.slice(2);
const check = args.includes('--check');
const outIdx = args.indexOf('--out');

async function buildInto(staticDir, timelineDir, jsDir) {
  mkdirSync(staticDir, { recursive: true });
  mkdirSync(timelineDir, { recursive: true });
  mkdirSync(jsDir, { recursive: true });
  const common = { absWorkingDir: here, bundle: true, minify: false, legalComments: 'inline', target: 'es2020',
    charset: 'utf8', logLevel: 'warning', sourcemap: false };
  // The tab: one ES module exporting render(); elk-api talks to the worker file.
  await build({ ...common, entryPoints: [join(here, 'src/tab/index.js')], format: 'esm',
    outfile: join(staticDir, 'index.js') });
  // The same diagram library as an IIFE for V8 inside Python (mini-racer): globalThis.ArchvizDiagram.
  await build({ ...common, entryPoints: [join(here, 'src/diagram/index.js')], format: 'iife',
    globalName: 'ArchvizDiagram', outfile: join(jsDir, 'archviz_diagram.js') });
  // The Anomaly Timeline tab: one ES module exporting render(), and its stylesheet.
  await build({ ...common, entryPoints: [join(here, 'src/timeline/index.js')], format: 'esm',
    outfile: join(timelineDir, 'index.js') });
  copyFileSync(join(here, 'src/timeline/style.css'), join(timelineDir, 'style.css'));
  const elk = join(here, 'node_modules/elkjs/lib');
  copyFileSync(join(elk, 'elk-worker.min.js'), join(staticDir, 'elk-worker.min.js'));
  copyFileSync(join(elk, 'elk.bundled.js'), join(jsDir, 'elk.bundled.js'));
  copyFileSync(join(here, 'src/tab/style.css'), join(staticDir, 'style.css'));
  copyFileSync(join(here, 'node_modules/elkjs/LICENSE.md'), join(staticDir, 'ELK-LICENSE.md'));
}

function listFiles(dir) {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

if (check) {
  const tmp = mkdtempSync(join(tmpdir(), 'archviz-build-'));
  try {
    await buildInto(join(tmp, 'architecture'), join(tmp, 'timeline'), join(tmp, 'js'));
    const problems = [];
    for (const [built, committed] of [[join(tmp, 'architecture'), join(pkg, 'static/architecture')],
      [join(tmp, 'timeline'), join(pkg, 'static/timeline')], [join(tmp, 'js'), join(pkg, 'js')]]) {
      const want = listFiles(built);
      const have = listFiles(committed);
      for (const f of want) {
        if (!have.includes(f)) problems.push(`missing ${join(committed, f)}`);
        else if (!readFileSync(join(built, f)).equals(readFileSync(join(committed, f)))) {
          problems.push(`stale ${join(committed, f)}`);
        }
      }
      for (const f of have) if (!want.includes(f)) problems.push(`unexpected ${join(committed, f)}`);
    }
    if (problems.length) {
      console.error('built assets differ from the sources (run `npm run build` in frontend/):\n  ' +
        problems.join('\n  '));
      process.exit(1);
    }
    console.log('built assets match the sources');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
} else if (outIdx >= 0) {
  const out = resolve(args[outIdx + 1]);
  await buildInto(join(out, 'architecture'), join(out, 'timeline'), join(out, 'js'));
} else {
  await buildInto(join(pkg, 'static/architecture'), join(pkg, 'static/timeline'), join(pkg, 'js'));
}
