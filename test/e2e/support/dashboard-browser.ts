// Headless Chromium (the Debian package, driven by playwright-core; no browser download)
// for the dashboard test. The admin certificate is presented as a TLS client certificate,
// as an operator's browser would. The broker's serving certificate chains to the
// clusterset root, which this throwaway profile does not trust, so server verification is
// waived for the browser only; the broker still authenticates the client on every request.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

const CHROMIUM = process.env.PLEXUS_CHROMIUM ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (see .ci/run) or set PLEXUS_CHROMIUM`);
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

/** A browser context that presents the broker's admin identity (or none) to `brokerUrl`. */
export function dashboardContext(browser: Browser, brokerUrl: string, brokerDir: string | undefined): Promise<BrowserContext> {
  const clientCertificates = brokerDir ? [{
    origin: new URL(brokerUrl).origin,
    cert: readFileSync(path.join(brokerDir, 'admin', 'admin.crt')),
    key: readFileSync(path.join(brokerDir, 'admin', 'admin.key')),
  }] : [];
  return browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 }, clientCertificates });
}

/** Width and height from a PNG's IHDR chunk. */
export function pngSize(png: Buffer): { width: number; height: number } {
  if (png.subarray(1, 4).toString('latin1') !== 'PNG') throw new Error('not a PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/**
 * Pixel statistics of a PNG, decoded by the browser itself on a blank page (no CSP there):
 * how many distinct colours (quantised) and what share of pixels is not near-white.
 */
export async function pixelStats(browser: Browser, png: Buffer): Promise<{ colours: number; inked: number }> {
  const page = await browser.newPage();
  try {
    // A string, so the DOM code is type-checked by no Node-only tsconfig and runs only in the page.
    return await page.evaluate(`(async (b64) => {
      const img = new Image();
      img.src = 'data:image/png;base64,' + b64;
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.width;
      canvas.height = img.height;
      const ctx = canvas.getContext('2d');
      ctx.drawImage(img, 0, 0);
      const data = ctx.getImageData(0, 0, img.width, img.height).data;
      const colours = new Set();
      let inked = 0;
      for (let i = 0; i < data.length; i += 4) {
        const r = data[i], g = data[i + 1], b = data[i + 2];
        colours.add(((r >> 4) << 8) | ((g >> 4) << 4) | (b >> 4));
        if (r < 230 || g < 230 || b < 230) inked++;
      }
      return { colours: colours.size, inked: inked / (data.length / 4) };
    })(${JSON.stringify(png.toString('base64'))})`) as { colours: number; inked: number };
  } finally {
    await page.close();
  }
}
