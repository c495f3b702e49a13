// The fleet matrix as a browser shows it: how long the page takes until the matrix is rendered
// and laid out, the matrix read back from the DOM, what a click on a cell brings into view, and a
// screenshot.
//
//   node fleet_check.mjs PAGE.html [--screenshot PNG] [--click HOST RULE] [--viewport 1440x1000]
//                                  [--hide RESULT] [--sort KEY] [--shot-after-click]
//
// HOST is the host's name as its row shows it, RULE the rule id of a column. --hide unchecks
// pytest-html's filter of an outcome (passed, failed...) before the click, as a reader may have;
// --sort clicks the matrix's sort button (failures, name, group, order) before it is read back. The answer is one
// JSON document: {timing, matrix: {rules, hosts: [{name, id, cells, classes}]}, click, errors}.
import { pathToFileURL } from "node:url";
import path from "node:path";
import { launch, answer } from "./chromium.mjs";

function parseArgs(argv) {
  const args = { page: null, screenshot: null, click: null, hide: [], sort: [], viewport: [1440, 1000], shotAfterClick: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--screenshot") args.screenshot = argv[++i];
    else if (arg === "--click") args.click = [argv[++i], argv[++i]];
    else if (arg === "--viewport") args.viewport = argv[++i].split("x").map(Number);
    else if (arg === "--hide") args.hide.push(argv[++i]);
    else if (arg === "--sort") args.sort.push(argv[++i]);
    else if (arg === "--shot-after-click") args.shotAfterClick = true;
    else args.page = arg;
  }
  if (!args.page) throw new Error("usage: fleet_check.mjs PAGE.html [--screenshot PNG] [--click HOST RULE]");
  return args;
}

// Runs in the page before its own scripts: at the load event, force a layout of the matrix and
// note the time since navigation start; the next frame says when it was painted.
function measureInPage() {
  window.__tsaTiming = {};
  window.addEventListener("load", () => {
    const matrix = document.querySelector("table.tsa-m");
    const height = matrix ? matrix.offsetHeight : -1;
    window.__tsaTiming.layout_ms = performance.now();
    window.__tsaTiming.matrix_height = height;
    requestAnimationFrame(() => {
      window.__tsaTiming.frame_ms = performance.now();
    });
  });
}

function readTiming() {
  const nav = performance.getEntriesByType("navigation")[0];
  const matrix = document.querySelector("table.tsa-m");
  const before = performance.now();
  const height = matrix ? matrix.offsetHeight : -1; // layout forced again: it should be cheap now
  return {
    ...window.__tsaTiming,
    dom_content_loaded_ms: nav.domContentLoadedEventEnd,
    load_event_ms: nav.loadEventEnd,
    relayout_ms: performance.now() - before,
    transfer_bytes: nav.decodedBodySize,
    elements: document.getElementsByTagName("*").length,
    matrix_height_now: height,
  };
}

function readMatrix() {
  const table = document.querySelector("table.tsa-m");
  if (!table) return null;
  const rules = [...table.querySelectorAll("thead th[data-r]")].map((th) => th.dataset.r);
  const families = [...table.querySelectorAll("thead tr.fr th[colspan]")].map((th) => [th.textContent, Number(th.colSpan)]);
  const hosts = [...table.tBodies[0].rows].map((row) => {
    const cells = [...row.cells].slice(1, rules.length + 1);
    return {
      name: row.cells[0].textContent,
      id: (row.cells[0].title || "").split("\n")[0],
      index: Number(row.dataset.h),
      cells: cells.map((c) => c.textContent).join(""),
      classes: cells.map((c) => c.className),
      titles: cells.map((c) => c.title),
      totals: [...row.cells].slice(rules.length + 1).map((c) => Number(c.textContent)),
    };
  });
  const root = table.closest(".tsa-fleet") || table;
  const box = root.getBoundingClientRect();
  const others = ["#environment-header", "#results-table", "#hosts"].map((sel) => document.querySelector(sel));
  return {
    rules,
    families,
    hosts,
    top: box.top + window.scrollY,
    above: others.filter(Boolean).map((el) => [el.id, el.getBoundingClientRect().top + window.scrollY > box.top + window.scrollY]),
    first_in_body: [...document.body.children].indexOf(root),
  };
}

// What the click brought into view: the element the matrix marked, whether it is on screen and
// not hidden (its <details> open, pytest-html's row expanded), and what is at its centre.
function readTarget() {
  const target = document.querySelector(".tsa-target");
  if (!target) return { found: false, hash: location.hash };
  const box = target.getBoundingClientRect();
  const inView = box.bottom > 0 && box.top < window.innerHeight && box.height > 0;
  const atCentre = document.elementFromPoint(Math.max(1, box.left + 4), Math.min(window.innerHeight - 1, box.top + Math.min(box.height, 20) / 2));
  const closed = [];
  for (let d = target.closest("details"); d; d = d.parentElement.closest("details")) if (!d.open) closed.push(d.id);
  const extras = target.querySelector("tr.extras-row");
  const testId = target.querySelector("td.col-testId");
  return {
    found: true,
    id: target.id,
    tag: target.tagName.toLowerCase(),
    text: target.textContent.trim().slice(0, 300),
    in_view: inView,
    top: box.top,
    closed_details: closed,
    at_centre_inside: atCentre ? target.contains(atCentre) : false,
    expanded: extras ? !extras.classList.contains("hidden") : null,
    test_id: testId ? testId.textContent : null,
    result: target.classList ? [...target.classList].filter((c) => c !== "tsa-target" && c !== "results-table-row") : [],
    hash: location.hash,
  };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const browser = await launch();
  const errors = [];
  try {
    const page = await browser.newPage({ viewport: { width: args.viewport[0], height: args.viewport[1] } });
    page.on("pageerror", (err) => errors.push(String(err)));
    page.on("console", (msg) => msg.type() === "error" && errors.push(msg.text()));
    page.on("request", (req) => !req.url().startsWith("file:") && !req.url().startsWith("data:") && errors.push(`request: ${req.url()}`));
    await page.addInitScript(measureInPage);
    await page.goto(pathToFileURL(path.resolve(args.page)).href, { waitUntil: "load" });
    await page.waitForFunction(() => window.__tsaTiming && window.__tsaTiming.frame_ms !== undefined);
    const timing = await page.evaluate(readTiming);
    for (const key of args.sort) await page.click(`.tsa-fleet button[data-sort="${key}"]`);
    const matrix = await page.evaluate(readMatrix);
    if (args.screenshot && !args.shotAfterClick) await page.screenshot({ path: args.screenshot });
    let click = null;
    for (const result of args.hide) await page.click(`input[name="filter_checkbox"][data-test-result="${result}"]`);
    const rowsBeforeClick = await page.evaluate(() => document.querySelectorAll("#results-table tbody.results-table-row").length);
    if (args.click) {
      click = await clickCell(page, args.click[0], args.click[1]);
      if (args.screenshot && args.shotAfterClick) await page.screenshot({ path: args.screenshot });
    }
    answer({ timing, matrix, click, rows_before_click: rowsBeforeClick, errors });
  } finally {
    await browser.close();
  }
}

async function clickCell(page, host, rule) {
  const at = await page.evaluate(([h, r]) => {
    const table = document.querySelector("table.tsa-m");
    const column = [...table.querySelectorAll("thead th[data-r]")].findIndex((th) => th.dataset.r === r);
    const row = [...table.tBodies[0].rows].find((x) => x.cells[0].textContent === h);
    if (column < 0 || !row) return null;
    const cell = row.cells[column + 1];
    cell.scrollIntoView({ block: "center", inline: "center" });
    const box = cell.getBoundingClientRect();
    return { x: box.left + box.width / 2, y: box.top + box.height / 2, letter: cell.textContent };
  }, [host, rule]);
  if (!at) return { clicked: false, why: `no cell for host ${host} and rule ${rule}` };
  await page.mouse.click(at.x, at.y); // a real click, where a person clicks
  // two frames: what the click scrolled to is rendered (a section off screen is rendered late)
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
  const target = await page.evaluate(readTarget);
  return { clicked: true, letter: at.letter, target };
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
  process.exit(1);
});
