// Launches Debian's Firefox ESR headless through puppeteer-core over WebDriver BiDi (Playwright needs its own Firefox build).
import puppeteer, { type Browser } from 'puppeteer-core';

export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

/**
 * Test-only ICE preferences: they let Firefox gather host candidates on 127.0.0.1 and name them as addresses (stock
 * Firefox skips loopback and hides host addresses behind mDNS names), which the loopback-only test machine needs.
 */
export const FIREFOX_LOOPBACK_ICE_PREFS: Record<string, unknown> = {
  'media.peerconnection.ice.loopback': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
};

/** Test-only preferences that stand in for a user's click (autoplay, device prompts) and keep a headless run quiet. */
export const FIREFOX_TEST_PREFS: Record<string, unknown> = {
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
  'media.navigator.permission.disabled': true,
  'media.navigator.streams.fake': true,
  // Background pages of one headless browser keep their timers at full rate, as Chromium's flags do.
  'dom.min_background_timeout_value': 4,
  'dom.timeout.enable_budget_timer_throttling': false,
  'browser.shell.checkDefaultBrowser': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.reportingpolicy.firstRun': false,
  'app.update.disabledForTesting': true,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'extensions.update.enabled': false,
  'extensions.getAddons.cache.enabled': false,
};

export interface FirefoxLaunchOptions {
  /** Apply FIREFOX_LOOPBACK_ICE_PREFS (default true); false gives a stock Firefox's ICE, as a broadcaster's has. */
  loopbackIce?: boolean;
  /** More preferences, applied last. */
  prefs?: Record<string, unknown>;
  /** Accept any TLS certificate (a suite's self-signed one), as a user clicking through the warning would. */
  acceptInsecureCerts?: boolean;
}

export function launchFirefox(options: FirefoxLaunchOptions = {}): Promise<Browser> {
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: true,
    acceptInsecureCerts: options.acceptInsecureCerts ?? false,
    extraPrefsFirefox: {
      ...FIREFOX_TEST_PREFS,
      ...(options.loopbackIce !== false && FIREFOX_LOOPBACK_ICE_PREFS),
      ...options.prefs,
    },
  });
}
