// Headless Chromium (the Debian package, driven by playwright-core; no browser download)
// for the dashboard test, set up the way an operator sets up a browser: the admin identity
// from `plexus broker admin-p12` imported into the profile's NSS database (~/.pki/nssdb,
// which Chromium on Linux reads from $HOME) with pk12util, and the clusterset root trusted
// for websites with certutil. Nothing is waived: the browser verifies the broker's serving
// certificate against that root (an untrusted root fails the page load), and presents the
// client certificate from NSS; the broker authenticates it on every request.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { runPlexus } from '../../support/plexus-process.ts';

const CHROMIUM = process.env.PLEXUS_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'];

export interface DashboardBrowserOptions {
  readonly brokerUrl: string;
  /** The broker's data directory: the admin identity and the root come from it. */
  readonly brokerDir: string;
  /** Import the admin PKCS#12 (from `plexus broker admin-p12`) as the client certificate. */
  readonly adminIdentity: boolean;
  /** Trust the clusterset root (DATA_DIR/admin/ca.crt) for websites, as a user does once. */
  readonly trustRoot: boolean;
}

/** A browser with its own HOME; close() stops it and removes the profile. */
export interface DashboardBrowser {
  readonly context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

function nss(tool: 'certutil' | 'pk12util', args: string[]): void {
  try {
    execFileSync(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { code?: string; stderr?: Buffer };
    if (err.code === 'ENOENT') throw new Error(`no ${tool}: apt-get install -y libnss3-tools (scripts/test-tools.sh)`, { cause: e });
    throw new Error(`${tool} ${args.join(' ')} failed: ${err.stderr?.toString().trim()}`, { cause: e });
  }
}

/**
 * Headless Chromium whose profile holds what `o` says. Chromium asks the user which client
 * certificate to send; headless, the profile's AutoSelectCertificateForUrls content setting
 * (certificates issued by the clusterset root, for the broker's origin) answers instead.
 */
export async function launchDashboardBrowser(o: DashboardBrowserOptions): Promise<DashboardBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (scripts/test-tools.sh) or set PLEXUS_CHROMIUM`);
  const home = mkdtempSync(path.join(tmpdir(), 'plexus-browser-'));
  try {
    const db = `sql:${path.join(home, '.pki', 'nssdb')}`;
    mkdirSync(path.join(home, '.pki', 'nssdb'), { recursive: true });
    nss('certutil', ['-N', '-d', db, '--empty-password']);
    const caCrt = path.join(o.brokerDir, 'admin', 'ca.crt');
    const rootCn = /^CN=(.*)$/m.exec(new X509Certificate(readFileSync(caCrt)).subject)?.[1];
    if (!rootCn) throw new Error(`no CN in the root at ${caCrt}`);
    if (o.trustRoot) nss('certutil', ['-A', '-d', db, '-n', 'plexus clusterset root', '-t', 'C,,', '-i', caCrt]);
    if (o.adminIdentity) {
      const passwordFile = path.join(home, 'p12-password');
      writeFileSync(passwordFile, 'dashboard e2e\n', { mode: 0o600 });
      const p12 = path.join(home, 'admin.p12');
      const r = await runPlexus(['broker', 'admin-p12', '--data-dir', o.brokerDir, '--out', p12, '--p12-password-file', passwordFile]);
      if (r.code !== 0) throw new Error(`plexus broker admin-p12 failed: ${r.stderr}`);
      // The PKCS#12 carries the root too, as a CA certificate without trust: importing it trusts nothing.
      nss('pk12util', ['-i', p12, '-d', db, '-w', passwordFile]);
    }
    const profile = path.join(home, 'chromium');
    mkdirSync(path.join(profile, 'Default'), { recursive: true });
    const filters = [{ ISSUER: { CN: rootCn } }];
    writeFileSync(path.join(profile, 'Default', 'Preferences'), JSON.stringify({
      profile: { content_settings: { exceptions: { auto_select_certificate: { [`${new URL(o.brokerUrl).origin},*`]: { setting: { filters } } } } } },
    }));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, args: ARGS, env: { ...process.env, HOME: home }, viewport: { width: 1280, height: 900 },
    });
    return {
      context,
      newPage: () => context.newPage(),
      close: async () => {
        await context.close();
        rmSync(home, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(home, { recursive: true, force: true });
    throw e;
  }
}

/**
 * page.goto, again when Chromium aborted it with net::ERR_NETWORK_CHANGED: it does that to
 * requests in flight whenever a network interface appears or goes on the host (real-node
 * labs create some), as a person would reload. Any other failure, a certificate error
 * above all, is thrown as it came.
 */
export async function gotoPage(page: Page, url: string): Promise<Awaited<ReturnType<Page['goto']>>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await page.goto(url);
    } catch (e) {
      if (attempt >= 5 || !/net::ERR_NETWORK_CHANGED/.test((e as Error).message)) throw e;
    }
  }
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
export async function pixelStats(browser: { newPage(): Promise<Page> }, png: Buffer): Promise<{ colours: number; inked: number }> {
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
