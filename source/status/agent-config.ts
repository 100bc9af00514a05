import fs from 'node:fs';
import path from 'node:path';
import { attr, blocks, entry, parseHcl, stringOf, type HclBlock, type HclValue } from './hcl.js';

/**
 * What status and doctor read from an OpenBao/Vault agent config (HCL): the Vault address and the
 * CA it trusts, the token sinks, and the templates with their destination, perms and exec command.
 * Issue 4's generator writes these (source/agent/render.ts there); hand-written configs are read
 * the same way.
 */

export interface SinkConfig {
  type: string;
  path?: string;
  mode?: HclValue;
  line: number;
}

export interface TemplateConfig {
  line: number;
  source?: string;
  destination?: string;
  perms?: HclValue;
  /** The template text (contents, or the source file when readable). */
  text?: string;
  textError?: string;
  /** argv of exec { command = [...] } or the deprecated command = "...". */
  command?: string[];
  /** The template renders a private key into its destination. */
  rendersKey: boolean;
  /** writeToFile calls that write a key without a perms argument. */
  keyWritesWithoutPerms: string[];
}

export interface AgentConfig {
  file: string;
  vault: { address?: string; caCert?: string; caPath?: string; tlsSkipVerify?: boolean };
  sinks: SinkConfig[];
  templates: TemplateConfig[];
  /** From the hook command in a template's exec (issue 4): where the hook logs its events. */
  hook?: { env?: string; name?: string; stateDir?: string; tlsDir?: string; caOut?: string };
}

const KEY_RE = /\.Key\b|private_key|PRIVATE KEY/;

function argvOf(value: HclValue | undefined): string[] | undefined {
  if (!value) return undefined;
  if (value.type === 'list') return value.items.map((i) => stringOf(i) ?? '');
  const s = stringOf(value);
  if (s === undefined) return undefined;
  // The agent splits a command string on commas, and runs one with spaces through sh -c.
  return s.includes(' ') ? ['sh', '-c', s] : s.split(',');
}

const ACTION_RE = /\{\{(?:(?!\}\}).)*\}\}/gs;

/** writeToFile actions that write a key (.Key or private_key) with no perms argument. */
function keyWritesWithoutPerms(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(ACTION_RE)) {
    const action = m[0];
    const at = action.indexOf('writeToFile');
    if (at < 0 || !KEY_RE.test(action)) continue;
    const args = [...action.slice(at + 'writeToFile'.length).matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((a) => a[1]!);
    if (args.length < 4 || args[3] === '') out.push(args[0] ?? '(unnamed)');
  }
  return out;
}

/** Does the destination itself receive a key (writeToFile actions write elsewhere)? */
function destinationHasKey(text: string): boolean {
  return KEY_RE.test(text.replace(ACTION_RE, (a) => (a.includes('writeToFile') ? '' : a)));
}

function readTemplate(block: HclBlock, configDir: string): TemplateConfig {
  const source = stringOf(attr(block, 'source'));
  const contents = stringOf(attr(block, 'contents'));
  const destination = stringOf(attr(block, 'destination'));
  const perms = attr(block, 'perms');
  let text = contents;
  let textError: string | undefined;
  if (text === undefined && source) {
    try {
      text = fs.readFileSync(path.resolve(configDir, source), 'utf8');
    } catch (error) {
      textError = `${source} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
    }
  }
  const exec = blocks(block, 'exec')[0];
  const command = argvOf(attr(exec, 'command')) ?? argvOf(attr(block, 'command'));
  return {
    line: block.line,
    ...(source ? { source } : {}),
    ...(destination ? { destination } : {}),
    ...(perms ? { perms } : {}),
    ...(text !== undefined ? { text } : {}),
    ...(textError ? { textError } : {}),
    ...(command ? { command } : {}),
    rendersKey: text !== undefined && destinationHasKey(text),
    keyWritesWithoutPerms: text ? keyWritesWithoutPerms(text) : [],
  };
}

function hookArgs(argv: string[] | undefined): AgentConfig['hook'] {
  if (!argv) return undefined;
  const at = argv.indexOf('hook');
  if (at < 0) return undefined;
  const rest = argv.slice(at + 1);
  const get = (flag: string) => {
    for (let i = 0; i < rest.length; i += 1) {
      if (rest[i] === flag) return rest[i + 1];
      if (rest[i]!.startsWith(`${flag}=`)) return rest[i]!.slice(flag.length + 1);
    }
    return undefined;
  };
  const out: NonNullable<AgentConfig['hook']> = {};
  for (const [k, flag] of [['env', '--env'], ['name', '--name'], ['stateDir', '--state-dir'], ['tlsDir', '--tls-dir'], ['caOut', '--ca-out']] as const) {
    const v = get(flag);
    if (v) out[k] = v;
  }
  return out;
}

export function parseAgentConfig(text: string, file: string): AgentConfig {
  const root = parseHcl(text);
  const vault = blocks(root, 'vault')[0];
  const cfg: AgentConfig = { file, vault: {}, sinks: [], templates: [] };
  const address = stringOf(attr(vault, 'address'));
  const caCert = stringOf(attr(vault, 'ca_cert'));
  const caPath = stringOf(attr(vault, 'ca_path'));
  const skip = attr(vault, 'tls_skip_verify');
  if (address) cfg.vault.address = address;
  if (caCert) cfg.vault.caCert = path.resolve(path.dirname(file), caCert);
  if (caPath) cfg.vault.caPath = caPath;
  if (skip) cfg.vault.tlsSkipVerify = skip.type === 'bool' ? skip.value : stringOf(skip) === 'true';
  for (const auto of blocks(root, 'auto_auth')) {
    for (const sink of blocks(auto, 'sink')) {
      const config = attr(sink, 'config');
      const configBlock = blocks(sink, 'config')[0];
      const p = stringOf(entry(config, 'path')) ?? stringOf(attr(configBlock, 'path'));
      const mode = entry(config, 'mode') ?? attr(configBlock, 'mode');
      cfg.sinks.push({ type: sink.labels[0] ?? stringOf(attr(sink, 'type')) ?? 'unknown', ...(p ? { path: p } : {}), ...(mode ? { mode } : {}), line: sink.line });
    }
  }
  for (const t of blocks(root, 'template')) cfg.templates.push(readTemplate(t, path.dirname(file)));
  for (const t of cfg.templates) {
    const hook = hookArgs(t.command);
    if (hook) {
      cfg.hook = hook;
      break;
    }
  }
  return cfg;
}

export type AgentConfigRead = { ok: true; config: AgentConfig } | { ok: false; reason: string };

export function readAgentConfig(file: string): AgentConfigRead {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'ENOENT' ? `${file} does not exist` : `${file} cannot be read (${code})` };
  }
  try {
    return { ok: true, config: parseAgentConfig(text, file) };
  } catch (error) {
    return { ok: false, reason: `${file} cannot be parsed: ${(error as Error).message}` };
  }
}
