import { launchChromium } from '../support/browser.ts';
import { goLiveWithTestSource } from '../support/pages.ts';
import { startServer } from '../support/server.ts';
import { launchWebKit } from '../support/webkit.ts';
const server = await startServer();
const chromium = await launchChromium();
await goLiveWithTestSource(chromium, server.baseUrl, 'wk');
const t0 = Date.now();
const wk = await launchWebKit();
console.log('webkit up in', Date.now() - t0);
await wk.browser.url(`${server.baseUrl}/watch?stream=wk`);
for (let i = 0; i < 20; i++) {
  await new Promise((r) => setTimeout(r, 1000));
  const s = await wk.browser.execute(() => ({ state: document.body.dataset.state, stats: (window as any).swarmcast?.stats() }));
  console.log(JSON.stringify(s));
}
await wk.close(); await chromium.close(); await server.stop();
