// node smoke_tensorboard.mjs URL OUTDIR: opens TensorBoard's page, screenshots it, prints the title.
import { launch, collectErrors } from './browser.mjs';

const [url, outdir] = process.argv.slice(2);
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  const errors = collectErrors(page);
  await page.goto(url, { waitUntil: 'load' });
  await page.screenshot({ path: `${outdir}/tensorboard.png` });
  console.log(JSON.stringify({ title: await page.title(), errors }));
} finally {
  await browser.close();
}
