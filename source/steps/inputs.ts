import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { OperatorError, UsageError } from '../errors.js';
import { GLOBAL_FLAGS, type FlagSpec, type FlagValues } from '../flags.js';

/**
 * Parsers for step inputs that several steps share. Each refuses bad input with the flag's name
 * and an example, before any work.
 */

/**
 * Control characters: C0 (\n, \r, \t, NUL, ESC ...), DEL, C1 (NEL U+0085 is a YAML line break)
 * and the Unicode line and paragraph separators. None of them belongs in a name, a path or a
 * prefix, and each can end a line in an env file, HCL, a systemd unit, compose or YAML.
 */
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * The one validator of text that goes into generated files and into Vault: names, CNs, alt
 * names, paths, prefixes, URLs. A value with a control character (a line break would start a new
 * variable in an env file, a new directive in a unit) is a usage error naming the flag and the
 * character, before any work.
 */
export function safeText(value: string, flag: string): string {
  const found = CONTROL_RE.exec(value);
  if (found) {
    const char = found[0];
    const shown = JSON.stringify(char) === `"${char}"` ? `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}` : JSON.stringify(char).slice(1, -1);
    throw new UsageError(
      `${flag} ${JSON.stringify(value)} contains a control character (${shown} at position ${found.index + 1}).`,
      `Pass ${flag} without line breaks, tabs or other control characters: it goes into generated files and certificates as it is.`,
    );
  }
  return value;
}

/** A CA common name: 1 to 64 printable characters (the X.520 upper bound for CN). */
export function parseCommonName(value: string, flag = '--cn'): string {
  safeText(value, flag);
  if (value.trim() === '' || value.length > 64) throw new UsageError(`${flag} must be 1 to 64 printable characters.`, `Pass a shorter ${flag} without control characters.`);
  return value;
}

/**
 * Applies safeText to every value a step is given: each of its inputs and the global flags,
 * single or repeated, from a flag, an environment variable or a wizard answer. Run by the step
 * runner before the environment is opened, so no step can forget a flag and a refused value
 * leaves no trace.
 */
export function checkInputText(values: FlagValues, inputs: readonly FlagSpec[], positionals: readonly string[] = []): void {
  for (const spec of [...GLOBAL_FLAGS, ...inputs]) {
    const v = values[spec.name];
    for (const item of Array.isArray(v) ? v : typeof v === 'string' ? [v] : []) safeText(item, `--${spec.name}`);
  }
  positionals.forEach((p, i) => safeText(p, `argument ${i + 1}`));
}

export function parseDomains(values: string[], flag = '--permitted-dns'): string[] | undefined {
  if (values.length === 0) return undefined;
  for (const d of values) {
    if (d.startsWith('.')) {
      // RFC 5280 4.2.1.10: a dNSName constraint is a name, and it already covers every name below it.
      // The leading-dot form belongs to URI and e-mail constraints; for DNS, validators disagree on it
      // (some read "subdomains only", strict ones a malformed name), so certwright never writes it.
      throw new UsageError(
        `${flag} "${d}" starts with a dot. A DNS name constraint has no leading dot, and validators disagree on what one means (some read it as subdomains only, strict ones as a malformed name).`,
        `Pass ${flag} ${d.replace(/^\.+/, '')}: it ${flag.startsWith('--excluded') ? 'excludes' : 'permits'} ${d.replace(/^\.+/, '')} and every name below it.`,
      );
    }
    if (!/^([a-z0-9]([a-z0-9-]*[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(d)) {
      throw new UsageError(`${flag} "${d}" is not a DNS domain.`, `Pass domains such as ${flag} example.com,internal.example.com.`);
    }
  }
  return values;
}

/**
 * --permitted-ip: CIDR blocks (an address alone is one host: /32 or /128). Host bits must be zero,
 * so the block written is the block meant.
 */
export function parseConstraintCidrs(values: string[], flag = '--permitted-ip'): string[] | undefined {
  if (values.length === 0) return undefined;
  return values.map((v) => {
    const [addr, prefixText, extra] = v.split('/');
    const family = net.isIP(addr ?? '');
    const max = family === 6 ? 128 : 32;
    const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
    if (!family || extra !== undefined || !(prefix >= 0 && prefix <= max)) {
      throw new UsageError(`${flag} "${v}" is not an IP address or CIDR block.`, `Pass blocks such as ${flag} 10.20.0.0/16,fd00:20::/48.`);
    }
    const bytes = ipBytes(addr!, family);
    const network = bytes.map((b, i) => {
      const bits = Math.max(0, Math.min(8, prefix - i * 8));
      return b & ((0xff << (8 - bits)) & 0xff);
    });
    if (network.some((b, i) => b !== bytes[i])) {
      const fixed = family === 4 ? network.join('.') : ipv6Text(network);
      throw new UsageError(`${flag} "${v}" has host bits set: the block /${prefix} starts at ${fixed}.`, `Pass ${flag} ${fixed}/${prefix}.`);
    }
    return `${family === 4 ? network.join('.') : ipv6Text(network)}/${prefix}`;
  });
}

function ipBytes(addr: string, family: number): number[] {
  if (family === 4) return addr.split('.').map(Number);
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => [(parseInt(g, 16) >> 8) & 0xff, parseInt(g, 16) & 0xff]);
}

function ipv6Text(bytes: number[]): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  // the longest run of zero groups becomes "::" (RFC 5952)
  let best = [-1, 0];
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') { i += 1; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j += 1;
    if (j - i > best[1]! && j - i > 1) best = [i, j - i];
    i = j;
  }
  if (best[0]! < 0) return groups.join(':');
  return `${groups.slice(0, best[0]).join(':')}::${groups.slice(best[0]! + best[1]!).join(':')}`;
}

/** An http(s) URL, kept as given (a CRL distribution point or AIA URL is written byte for byte). */
export function parseHttpUrl(value: string | undefined, flag: string, example: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${flag} "${value}" is not a URL.`, `Pass e.g. ${flag} ${example}.`);
  }
  // RFC 5280 4.2.1.13 / 4.2.2.1: validators fetch these over HTTP (or LDAP); https would need a CA to trust first.
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${flag} "${value}" must be an http URL.`, `Pass e.g. ${flag} ${example}.`);
  if (/\s/.test(value)) throw new UsageError(`${flag} "${value}" contains white space.`, `Pass e.g. ${flag} ${example}.`);
  return value;
}

export function parseAiaBase(value: string | undefined, flag = '--aia-base'): string | undefined {
  if (value === undefined || value === '') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${flag} "${value}" is not a URL.`, `Pass the base URL clients reach Vault at, e.g. ${flag} https://vault.example:8200.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`${flag} "${value}" must be http or https.`, `Pass e.g. ${flag} https://vault.example:8200.`);
  return url.origin;
}

export function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string, fallback: T): T {
  if (value === undefined || value === '') return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag} "${value}" is not one of ${allowed.join(', ')}.`, `Pass ${flag} ${allowed.join('|')}.`);
  return value as T;
}

export function parseCidrs(values: string[], flag = '--bound-cidrs'): string[] {
  for (const v of values) {
    const [address = '', prefix] = v.split('/');
    const family = net.isIP(address);
    const bits = family === 4 ? 32 : 128;
    if (!family || v.split('/').length > 2 || (prefix !== undefined && (!/^\d{1,3}$/.test(prefix) || Number(prefix) > bits))) {
      throw new UsageError(`${flag} "${v}" is not an IP address or CIDR block.`, `Pass e.g. ${flag} 10.0.4.0/24,127.0.0.1/32 (each octet 0-255, a prefix of at most /32, or /128 for IPv6).`);
    }
  }
  return values;
}

/**
 * A file certwright will write: never a directory, and its parent, when it exists, a directory.
 * Checked in parse, so a step never does its work (a key in Vault, a signature) and then finds
 * it cannot write the result.
 */
export function parseOutputFile(value: string, flag: string): string {
  const file = path.resolve(value);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(file);
  } catch {
    st = undefined;
  }
  if (st?.isDirectory()) throw new UsageError(`${flag} ${file} is a directory.`, `Pass a file path for ${flag}, e.g. ${path.join(file, path.basename(file) || 'out')}.pem.`);
  let parent = path.dirname(file);
  while (!fs.existsSync(parent) && path.dirname(parent) !== parent) parent = path.dirname(parent);
  if (!fs.statSync(parent).isDirectory()) throw new UsageError(`${flag} ${file} cannot be created: ${parent} is not a directory.`, `Pass a path for ${flag} inside a directory.`);
  return file;
}

export function parseSelectors(values: string[]): string[] {
  return values.map((v) => {
    // Plain label characters only: the value goes into the agent config, the unit's hook command and podman filters.
    if (!/^[A-Za-z0-9][A-Za-z0-9_./-]*=[A-Za-z0-9_.:/@+=-]*$/.test(v)) throw new UsageError(`--select "${v}" is not LABEL=VALUE.`, 'Pass --select app=web (letters, digits and . _ - : / @ + = in both; ANDed with tls=true); repeat it for more labels.');
    return v;
  });
}

/** The slug a mount path gets in artefact file names (pki/int -> pki_int). */
export function mountSlug(mount: string): string {
  return mount.replace(/\//g, '_');
}

export function parseHttpsBase(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--base "${value}" is not a URL.`, 'Pass the HTTPS address clients reach Vault at, e.g. --base https://vault.example:8200.');
  }
  if (url.protocol !== 'https:') throw new UsageError(`--base ${value} is not https.`, 'switch-urls moves the URLs to HTTPS: pass --base https://HOST:PORT (serve it first with certwright vault-https).');
  if (url.pathname !== '/' || url.search) throw new UsageError(`--base ${value} has a path; certwright adds /v1/MOUNT/ca and /v1/MOUNT/crl itself.`, `Pass just the origin, e.g. --base ${url.origin}.`);
  return url.origin;
}

const NAME_RE = /^[a-z0-9][a-z0-9_-]{0,40}$/;
export function validateWorkloadName(name: string): string {
  if (!NAME_RE.test(name)) throw new OperatorError(`--name "${name}" is not a valid workload name.`, 'Use lower-case letters, digits, "-" and "_" (at most 41), for example --name web.');
  return name;
}

const HOST_RE = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
export function splitNames(commonName: string, altNames: string[]): { dns: string[]; ips: string[] } {
  const dns: string[] = [];
  const ips: string[] = [];
  for (const raw of [commonName, ...altNames]) {
    const name = raw.trim().toLowerCase();
    if (!name) continue;
    if (net.isIP(name)) {
      if (!ips.includes(name)) ips.push(name);
    } else if (name.includes('*')) {
      throw new OperatorError(`"${raw}" is a wildcard; agents get certificates for the exact names they serve.`, 'List each name in --alt-names instead of a wildcard.');
    } else if (!HOST_RE.test(name)) {
      throw new OperatorError(`"${raw}" is not a host name or IP address.`, 'Pass DNS names (web.example.com) or IP addresses in --common-name and --alt-names.');
    } else if (!dns.includes(name)) dns.push(name);
  }
  if (!HOST_RE.test(commonName.trim()) || net.isIP(commonName.trim())) throw new OperatorError(`--common-name "${commonName}" is not a DNS name.`, 'Pass the main DNS name of the app as --common-name; IP addresses go in --alt-names.');
  return { dns, ips };
}
