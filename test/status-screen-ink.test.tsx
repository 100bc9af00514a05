import React from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { StatusScreen } from '../screens/StatusScreen.js';
import { driveInk, KEY } from './helpers/ink.js';
import { statusFixture as fixture } from './helpers/status-fixture.js';
import { assertFits } from './helpers/frame.js';

/** The screen from props alone: a fixture snapshot in, keys in, frames out (no I/O anywhere). */

const RIGHT = '\u001B[C';
let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
});

describe('StatusScreen (ink-testing-library)', () => {
  it('navigates sections and rows, shows details, aborts its refresh on exit', async () => {
    const signals: AbortSignal[] = [];
    const load = async (signal: AbortSignal) => {
      signals.push(signal);
      return fixture();
    };
    const ui = driveInk(<StatusScreen load={load} intervalMs={60_000} env="fx" />);
    cleanup = () => ui.view.unmount();
    await ui.waitFor('WARNING');
    expect(ui.frame()).toContain('Address    https://vault.fx:8200');
    expect(ui.frame()).toContain('Certificate 40d left · verifies');
    for (let i = 0; i < 4; i += 1) await ui.type(RIGHT);
    await ui.waitFor('[Certs !]');
    // One row per file, the path its heading; what it holds and who reads it under it.
    expect(ui.frame()).toMatch(/▸ ! \/srv\/tls\/a\.pem\n +2d left leaf a\.fx · read by app a's server\n/);
    await ui.type(KEY.down);
    await ui.waitFor(/▸ ✓ \/srv\/tls\/b\.pem\n +368d left leaf b\.fx · no reader known/);
    await ui.type(KEY.enter);
    await ui.waitFor('Known from');
    expect(ui.frame()).toContain('no record of what was written');
    expect(ui.frame()).toMatch(/Read by +no reader known to certwright/);
    await ui.type(KEY.escape);
    await ui.waitFor('▸ ✓ /srv/tls/b.pem');
    // (Colour itself is checked in the tmux test: ink-testing-library renders no colour at all.)
    cleanup!();
    cleanup = undefined;
    expect(signals[0]!.aborted).toBe(true);
  });

  it('certificate rows are grouped by file: the same root in two files is two paths, each saying who reads it and where else it is; a PKI mount Vault could not read says why; all fits 80x24', async () => {
    const snap = fixture({ reachable: false });
    const root = { source: 'state', role: 'root', subject: 'CN=fx Root CA', sans: [], notAfter: '2036-01-01T00:00:00.000Z', daysLeft: 3300, fingerprint: 'AA:BB', count: 1, keyFile: null, keyMatches: null, chainVerifies: true, sameAsWritten: true, state: 'ok' as const, holds: [{ subject: 'CN=fx Root CA', ca: true, notAfter: '2036-01-01T00:00:00.000Z', daysLeft: 3300, fingerprint: 'AA:BB' }] };
    const rootFile = '/home/op/.config/certwright/envs/fx/offline-root/root-ca.pem';
    const agentCopy = '/home/op/.config/certwright/envs/fx/agents/app-web-with-a-long-name/trust-root.pem';
    snap.sections.certificates.certificates = [
      { ...root, path: rootFile, readBy: ["status and doctor (the environment's root)"], alsoIn: [agentCopy] },
      { ...root, path: agentCopy, readBy: ['the hook of app web (the pinned root each render must chain to)'], alsoIn: [rootFile] },
    ];
    snap.sections.pki = { state: 'unknown', reason: 'Vault is not reachable: connect ECONNREFUSED 127.0.0.1:8200', mounts: [{ path: 'pki_int', state: 'unknown', reason: 'Vault is not reachable', maxLeaseTtlSeconds: null, defaultIssuer: null, issuers: [], urls: null, roles: null, keys: null }] } as never;
    const ui = driveInk(<StatusScreen load={async () => snap} intervalMs={60_000} env="fx" />);
    cleanup = () => ui.view.unmount();
    await ui.waitFor('FAILING');
    await ui.type(KEY.tab);
    const pki = await ui.waitFor('[PKI ?]');
    expect(pki).toMatch(/\? pki_int {2}not checked: Vault is not reachable/);
    expect(pki).toMatch(/PKI — Vault is not reachable: connect ECONNREFUSED 127\.0\.0\.1:8200/);
    await ui.type('\t\t\t');
    const certs = await ui.waitFor('[Certs');
    assertFits(certs, 80, 24);
    expect(certs).toContain(`▸ ✓ ${rootFile}`);
    const flat = (frame: string) => frame.replace(/\s+/g, ' ');
    const joined = (frame: string) => frame.replace(/\s+/g, '');
    expect(flat(certs)).toContain('3300d left root fx Root CA · read by status and doctor · also in 1 other file');
    // A path wider than the row breaks where the line ends: whole, never cut.
    expect(joined(certs)).toContain(`✓${agentCopy}3300dleftrootfxRootCA·readbythehookofappweb·alsoin1otherfile`);
    await ui.type(KEY.down);
    await ui.type(KEY.enter);
    const detail = await ui.waitFor('Known from');
    assertFits(detail, 80, 24);
    expect(joined(detail)).toContain(`File${agentCopy}`);
    expect(flat(detail)).toContain('Read by the hook of app web (the pinned root each render must chain to)');
    expect(joined(detail)).toContain(`Alsoin${rootFile}`);
  });

  it('backs off while Vault is unreachable and says so', async () => {
    let calls = 0;
    const ui = driveInk(<StatusScreen load={async () => (calls++, fixture({ reachable: false }))} intervalMs={40} env="fx" />);
    cleanup = () => ui.view.unmount();
    await ui.waitFor('backing off ×2');
    await ui.waitFor('backing off ×4');
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(ui.frame()).toContain('FAILING');
  });
});
