// Geo rules and the shipped country database: countries from the real mmdb, per-stream rules with a "*" default,
// CIDR rules before country rules, 451 for a refused address, and a malformed rules file refused at start.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GeoRules, openCountryDatabase, type CountryLookup } from '../geo.ts';

// Addresses the shipped database places (Google DNS in the US, a BBC block in GB, Deutsche Telekom in DE).
const US = '8.8.8.8';
const GB = '212.58.244.1';
const DE = '80.156.1.1';

describe('country database', () => {
  it('maps public addresses of both families to countries and private ones to none', () => {
    const countries = openCountryDatabase();
    expect(countries.countryOf(US)).toBe('US');
    expect(countries.countryOf(GB)).toBe('GB');
    expect(countries.countryOf(DE)).toBe('DE');
    expect(countries.countryOf('2001:4860:4860::8888')).toBe('US');
    expect(countries.countryOf('127.0.0.1')).toBeUndefined();
    expect(countries.countryOf('not an address')).toBeUndefined();
  });
});

describe('geo rules', () => {
  const countries: CountryLookup = openCountryDatabase();
  const status = (rules: GeoRules, stream: string, address: string): number => {
    try {
      rules.check(stream, address);
      return 200;
    } catch (err) {
      return (err as { status: number }).status;
    }
  };

  it('applies a stream its own rules and every other stream the "*" rules', () => {
    const rules = new GeoRules({ '*': { denyCountries: ['US'] }, 'uk-only': { allowCountries: ['GB'] } }, countries);
    expect([status(rules, 'news', US), status(rules, 'news', GB), status(rules, 'news', '127.0.0.1')]).toEqual([451, 200, 200]);
    expect([status(rules, 'uk-only', US), status(rules, 'uk-only', GB), status(rules, 'uk-only', DE), status(rules, 'uk-only', '127.0.0.1')]).toEqual([451, 200, 451, 451]);
  });

  it('refuses a denied CIDR first and admits an allowed CIDR in a denied country', () => {
    const rules = new GeoRules({ '*': { denyCountries: ['US'], allowCidrs: ['8.8.8.0/24'], denyCidrs: ['212.58.0.0/16'] } }, countries);
    expect([status(rules, 'x', US), status(rules, 'x', '8.8.4.4'), status(rules, 'x', GB), status(rules, 'x', DE)]).toEqual([200, 451, 451, 200]);
  });

  it('admits only the allowed networks when allowCidrs is the only list', () => {
    const rules = new GeoRules({ '*': { allowCidrs: ['10.0.0.0/8', '::1/128'] } }, countries);
    expect([status(rules, 'x', '10.1.2.3'), status(rules, 'x', '::1'), status(rules, 'x', GB), status(rules, 'x', '127.0.0.1')]).toEqual([200, 200, 451, 451]);
  });

  it('admits everyone without rules', () => {
    expect(status(new GeoRules({}, countries), 'x', US)).toBe(200);
  });

  it('refuses a malformed rules file with the reason', () => {
    const dir = mkdtempSync(join(tmpdir(), 'geo-rules-'));
    const file = (name: string, text: string): string => (writeFileSync(join(dir, name), text), join(dir, name));
    const none: CountryLookup = { countryOf: () => undefined };
    expect(() => GeoRules.fromFile(file('a.json', '{'), none)).toThrow(/GEO_RULES_FILE/);
    expect(() => GeoRules.fromFile(file('b.json', '[]'), none)).toThrow(/expected/);
    expect(() => GeoRules.fromFile(file('c.json', '{"*": {"denyCountry": ["US"]}}'), none)).toThrow(/unknown key denyCountry/);
    expect(() => GeoRules.fromFile(file('d.json', '{"*": {"denyCountries": ["USA"]}}'), none)).toThrow(/2-letter/);
    expect(() => GeoRules.fromFile(file('e.json', '{"*": {"denyCidrs": ["10.0.0.0/99"]}}'), none)).toThrow(/not an address or CIDR/);
    expect(() => GeoRules.fromFile(join(dir, 'missing.json'), none)).toThrow(/GEO_RULES_FILE/);
  });
});
