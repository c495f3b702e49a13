// Headless Chromium (Debian's /usr/bin/chromium) as the project's own tests start it: no sandbox
// (they run as root), and none of the background connections a closed network would refuse.
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
}

// The script's answer: one JSON document on stdout (what the Python side reads).
export function answer(value) {
  process.stdout.write(JSON.stringify(value) + "\n");
}
