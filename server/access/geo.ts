// Geo rules: per stream (GEO_RULES_FILE, "*" for every stream without rules of its own), country allow/deny lists and
// CIDR allow/deny lists, answered 451; the country comes from a CountryLookup, by default the
// @ip-location-db/geo-whois-asn-country-mmdb database read with maxmind, loaded once at start.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { BlockList } from 'node:net';
import { Reader, type Response } from 'maxmind';
import { PlaybackAccessError } from './playback-errors.ts';
import { listHas, networkList } from './playback-token.ts';

const require = createRequire(import.meta.url);

/** Maps an address to its ISO 3166-1 alpha-2 country; a small interface so the database can be swapped. */
export interface CountryLookup {
  /** The country of `address`, or undefined when unknown (private, loopback or unlisted addresses). */
  countryOf(address: string): string | undefined;
}

/** The record shape of the ip-location-db country databases (not MaxMind's own `country.iso_code`). */
interface CountryRecord {
  country_code?: string;
}

/**
 * The country database shipped in the npm package (no download at run time): geo-whois-asn-country, IPv4 and IPv6 in
 * one 15 MB file, country only, which is all geo-blocking needs (data CC BY 4.0 by the NRO, see the README).
 */
export function openCountryDatabase(file = require.resolve('@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb')): CountryLookup {
  const reader = new Reader<Response>(readFileSync(file));
  return {
    countryOf(address) {
      try {
        return (reader.get(address) as CountryRecord | null)?.country_code ?? undefined;
      } catch {
        return undefined;
      }
    },
  };
}

/** One stream's rules as GEO_RULES_FILE writes them. */
export interface GeoRuleSpec {
  allowCountries?: string[];
  denyCountries?: string[];
  allowCidrs?: string[];
  denyCidrs?: string[];
}

interface GeoRule {
  allowCountries: Set<string>;
  denyCountries: Set<string>;
  allowCidrs: BlockList;
  denyCidrs: BlockList;
  /** Only what an allow list admits is admitted: allowCountries given, or allowCidrs the only list given. */
  allowListed: boolean;
}

const RULE_KEYS = ['allowCountries', 'denyCountries', 'allowCidrs', 'denyCidrs'] as const;

/**
 * Per-stream rules. Order of evaluation: a denied CIDR refuses; an allowed CIDR admits (an office network inside a
 * denied country); a denied country refuses; then, when allowCountries is given (or allowCidrs is the only list
 * given: "only these networks"), an address no allow list admits is refused, one of unknown country among them;
 * everything else is admitted.
 */
export class GeoRules {
  #rules = new Map<string, GeoRule>();
  #countries: CountryLookup;

  constructor(spec: Record<string, GeoRuleSpec>, countries: CountryLookup) {
    this.#countries = countries;
    for (const [stream, rule] of Object.entries(spec)) this.#rules.set(stream, compileRule(stream, rule));
  }

  /** Parses GEO_RULES_FILE's JSON; a malformed file is a typed error at start. */
  static fromFile(file: string, countries: CountryLookup): GeoRules {
    let spec: unknown;
    try {
      spec = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new PlaybackAccessError('bad-config', '*', `GEO_RULES_FILE ${file}: ${(err as Error).message}`);
    }
    if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
      throw new PlaybackAccessError('bad-config', '*', `GEO_RULES_FILE ${file}: expected {"stream" | "*": {rules}}`);
    }
    return new GeoRules(spec as Record<string, GeoRuleSpec>, countries);
  }

  /** Whether the rules of `stream` admit `address`; throws a 451 PlaybackAccessError when they do not. */
  check(stream: string, address: string): void {
    const rule = this.#rules.get(stream) ?? this.#rules.get('*');
    if (!rule) return;
    if (listHas(rule.denyCidrs, address)) throw new PlaybackAccessError('geo-blocked', stream, 'not available in your region');
    if (listHas(rule.allowCidrs, address)) return;
    const country = rule.denyCountries.size > 0 || rule.allowCountries.size > 0 ? this.#countries.countryOf(address) : undefined;
    if (country !== undefined && rule.denyCountries.has(country)) throw new PlaybackAccessError('geo-blocked', stream, 'not available in your region');
    if (rule.allowListed && (country === undefined || !rule.allowCountries.has(country))) {
      throw new PlaybackAccessError('geo-blocked', stream, 'not available in your region');
    }
  }

  countryOf(address: string): string | undefined {
    return this.#countries.countryOf(address);
  }
}

function compileRule(stream: string, spec: GeoRuleSpec): GeoRule {
  const where = `GEO_RULES_FILE rules of ${JSON.stringify(stream)}`;
  if (typeof spec !== 'object' || spec === null) throw new PlaybackAccessError('bad-config', stream, `${where}: expected an object`);
  for (const key of Object.keys(spec)) {
    if (!(RULE_KEYS as readonly string[]).includes(key)) throw new PlaybackAccessError('bad-config', stream, `${where}: unknown key ${key}`);
  }
  const list = (key: (typeof RULE_KEYS)[number]): string[] => {
    const value = spec[key] ?? [];
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
      throw new PlaybackAccessError('bad-config', stream, `${where}: ${key} must be an array of strings`);
    }
    return value;
  };
  const countries = (key: 'allowCountries' | 'denyCountries'): Set<string> => {
    const codes = list(key).map((code) => code.toUpperCase());
    const bad = codes.find((code) => !/^[A-Z]{2}$/.test(code));
    if (bad !== undefined) throw new PlaybackAccessError('bad-config', stream, `${where}: ${key} has ${JSON.stringify(bad)}, not a 2-letter country code`);
    return new Set(codes);
  };
  const allowCountries = countries('allowCountries');
  const denyCountries = countries('denyCountries');
  const allowCidrList = list('allowCidrs');
  const denyCidrList = list('denyCidrs');
  const onlyAllowCidrs = allowCidrList.length > 0 && denyCountries.size === 0 && denyCidrList.length === 0;
  return {
    allowCountries,
    denyCountries,
    allowCidrs: networkList(allowCidrList, `${where}: allowCidrs`),
    denyCidrs: networkList(denyCidrList, `${where}: denyCidrs`),
    allowListed: allowCountries.size > 0 || onlyAllowCidrs,
  };
}
