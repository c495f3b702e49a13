// HDF files loaded into Heimdall Lite as a user loads them, in headless Chromium: the app (this
// folder's node_modules/@mitre/heimdall-lite/dist) is served on 127.0.0.1, an ephemeral port; the
// files go to the landing page's file input; once the results view shows, a full-page screenshot
// is taken. Answers what the page shows: the status cards ("Passed: N"...), the Profile Error and
// Waived banners, the number of controls listed, and every request that was not to 127.0.0.1
// (each one blocked, web sockets too: the app needs none). Gives up (exit code 1) after 60 s.
//
//   node heimdall_shot.mjs SCREENSHOT.png FILE...
import { createReadStream, statSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { answer, launch } from "./chromium.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const DIST = join(HERE, "node_modules", "@mitre", "heimdall-lite", "dist");
const DEADLINE_MS = 60_000;
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".ttf": "font/ttf",
  ".eot": "application/vnd.ms-fontobject",
  ".map": "application/json",
};

// A file of dist, or 404 (also for the app's probe of a Heimdall server: /server, /api/...)
function serve(request, response) {
  const url = new URL(request.url, "http://127.0.0.1");
  const wanted = url.pathname === "/" ? "/index.html" : decodeURIComponent(url.pathname);
  const path = normalize(join(DIST, wanted));
  let found = false;
  try {
    found = path.startsWith(DIST + sep) && statSync(path).isFile();
  } catch {
    found = false;
  }
  if (!found) {
    response.writeHead(404, { "content-type": "text/plain" });
    response.end("not found");
    return;
  }
  response.writeHead(200, { "content-type": TYPES[extname(path)] || "application/octet-stream" });
  createReadStream(path).pipe(response);
}

function listen(server) {
  return new Promise((done, failed) => {
    server.once("error", failed);
    server.listen(0, "127.0.0.1", () => done(server.address().port));
  });
}

// What the results view shows, read from its DOM (StatusCardRow.vue, ControlTable.vue)
async function shown(page) {
  return page.evaluate(() => {
    const text = (e) => (e.textContent || "").replace(/\s+/g, " ").trim();
    const cards = {};
    for (const card of document.querySelectorAll('[data-cy="cardText"]')) {
      const found = text(card).match(/^(.*): (\d+)$/);
      if (found) cards[found[1]] = Number(found[2]);
    }
    const banners = {};
    for (const title of document.querySelectorAll(".v-card__title .title")) {
      const found = text(title).match(/^(ALERT|INFO): (\d+) (Profile Error|Waived)/);
      if (found) banners[found[3]] = Number(found[2]);
    }
    const viewed = [...document.querySelectorAll("span")]
      .map(text)
      .map((t) => t.match(/^(\d+)\/(\d+) Controls Viewed$/))
      .find(Boolean);
    return {
      cards,
      banners,
      controls_listed: viewed ? Number(viewed[2]) : null,
      control_rows: document.querySelectorAll(".v-lazy").length,
      control_rows_drawn: document.querySelectorAll(".v-lazy > div[id]").length,
      url_path: location.pathname,
      title: document.title,
    };
  });
}

// The control rows are v-lazy: drawn once scrolled into view, so the page is scrolled through
// before the full-page screenshot (else the rows below the first screen are blank)
async function scrollThrough(page) {
  const step = page.viewportSize().height;
  for (let y = 0; y < (await page.evaluate(() => document.body.scrollHeight)); y += step) {
    await page.evaluate((top) => window.scrollTo(0, top), y);
    await page.waitForTimeout(60);
  }
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(300);
}

async function main(screenshot, files) {
  const server = createServer(serve);
  const port = await listen(server);
  const origin = `http://127.0.0.1:${port}`;
  const blocked = [];
  const pageErrors = [];
  const dialogs = [];
  const browser = await launch();
  running.browser = browser;
  running.server = server;
  try {
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, serviceWorkers: "block" });
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(`${origin}/`) || url.startsWith("data:") || url.startsWith("blob:")) return route.continue();
      blocked.push(url);
      return route.abort("blockedbyclient");
    });
    await context.routeWebSocket(/.*/, (socket) => {
      blocked.push(socket.url());
      return socket.close();
    });
    const page = await context.newPage();
    page.on("pageerror", (error) => pageErrors.push(String(error)));
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      dialog.dismiss().catch(() => {});
    });
    await page.goto(`${origin}/`, { waitUntil: "load" });
    // the landing page's upload (vue-file-agent): a hidden <input type="file" multiple>
    const input = page.locator('input[type="file"]').first();
    await input.waitFor({ state: "attached", timeout: 30_000 });
    await input.setInputFiles(files);
    await page.waitForURL(/\/results/, { timeout: 30_000 });
    await page.locator('[data-cy="cardText"]').first().waitFor({ timeout: 30_000 });
    // the cards count every loaded file once each file's evaluation is in the store
    await page.waitForFunction(
      (expected) => {
        const span = [...document.querySelectorAll("span")].find((s) => /Controls Viewed$/.test(s.textContent.trim()));
        return span && Number(span.textContent.trim().split(" ")[0].split("/")[1]) >= expected;
      },
      files.length,
      { timeout: 30_000 },
    );
    await page.waitForLoadState("networkidle", { timeout: 10_000 }).catch(() => {});
    await page.waitForTimeout(1000); // the cards' and charts' transitions
    await scrollThrough(page);
    const view = await shown(page);
    await page.screenshot({ path: screenshot, fullPage: true });
    // and the first screen alone (what a person sees on opening it), beside the full page
    const top = screenshot.replace(/\.png$/, "") + "-top.png";
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForTimeout(300);
    await page.screenshot({ path: top });
    return { origin, files: files.length, screenshot, top, ...view, blocked, page_errors: pageErrors, dialogs };
  } finally {
    await browser.close();
    await new Promise((done) => server.close(done));
  }
}

// what the deadline stops: the browser (given 5 s to close) and the server
const running = { browser: null, server: null };

async function giveUp() {
  process.stderr.write(`heimdall_shot: no results view within ${DEADLINE_MS / 1000} s\n`);
  running.server?.close();
  running.server?.closeAllConnections();
  const closing = running.browser ? running.browser.close().catch(() => {}) : Promise.resolve();
  await Promise.race([closing, new Promise((done) => setTimeout(done, 5000))]);
  process.exit(1);
}

const [screenshot, ...files] = process.argv.slice(2);
if (!screenshot || files.length === 0) throw new Error("usage: node heimdall_shot.mjs SCREENSHOT.png FILE...");
const timer = setTimeout(giveUp, DEADLINE_MS);
const result = await main(resolve(screenshot), files.map((f) => resolve(f)));
clearTimeout(timer);
answer(result);
