import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useHttpsVault } from './helpers/https-vault.js';
import { systemdHostAvailability, useSystemdHost, waitUntil, type SystemdHost } from './helpers/systemd-host.js';

/**
 * Issue 11, point 5 (status and doctor read the real host): on the systemd host, `status --json`
 * reports each agent unit's real ActiveState, ExecMainStatus and last journal lines; a unit that
 * really fails with 218/CAPABILITIES is found by `doctor`, which names the directive and the file;
 * after the fix it prints, the unit runs again. Judged by `systemctl show` and the journal.
 */
const HOST = systemdHostAvailability();
if (!HOST.ok) console.warn(`[host-doctor] skipped: ${HOST.reason}`);
const lab = useHttpsVault({ pkiMount: 'pki_app' });
const sh = useSystemdHost({ mounts: () => [path.dirname(lab.vault().home)] });

interface AgentJson {
  name: string;
  activeState: string | null;
  execMainStatus: number | null;
  journal: string[] | null;
  unit: { name: string | null; state: string };
  state: string;
  reason?: string;
}

async function statusAgent(host: SystemdHost, name: string): Promise<{ exit: number; agent: AgentJson }> {
  const r = await host.certwright(['status', '--env', 'test', '--json'], { env: lab.vault().cliEnv() });
  const doc = JSON.parse(r.stdout) as { sections: { agents: { agents: AgentJson[] } } };
  const agent = doc.sections.agents.agents.find((a) => a.name === name);
  if (!agent) throw new Error(`status lists no agent ${name}: ${r.stdout.slice(0, 400)}`);
  return { exit: r.code, agent };
}

const UNIT = 'bao-agent-test-app-doc.service';
const INSTALLED = `/home/hosts-doc/.config/systemd/user/${UNIT}`;

describe.skipIf(!HOST.ok)('status and doctor on a real host (issue 11, point 5)', { timeout: 300_000 }, () => {
  it('status shows the unit\'s ActiveState, ExecMainStatus and journal; doctor finds a real 218/CAPABILITIES, names the directive, and after the fix the unit runs', async () => {
    const host = sh.host();
    await host.addUser('hosts-doc');
    const inst = await host.certwright(['agent', 'app', '--env', 'test', '--mount', 'pki_app', '--name', 'doc', '--common-name', 'doc.hosts.test', '--tls-dir', '/home/hosts-doc/tls', '--out', '/home/hosts-doc/agent', '--user', 'hosts-doc', '--bao', '/usr/local/bin/bao', '--persistent-secret-id', '--install'], { env: lab.vault().cliEnv() });
    expect(inst.code, inst.stderr + inst.stdout).toBe(0);

    const healthy = await statusAgent(host, 'doc');
    const shown = await host.showUnit('hosts-doc', UNIT, ['ActiveState', 'ExecMainStatus']);
    expect(healthy.agent).toMatchObject({ activeState: shown.ActiveState, execMainStatus: Number(shown.ExecMainStatus), unit: { name: UNIT, state: 'active' } });
    expect(healthy.agent.activeState).toBe('active');
    expect(healthy.agent.journal?.length).toBeGreaterThan(0);

    // the seed's failure, for real: a capability directive in the installed user unit
    await host.sh(`sed -i 's/^Type=simple$/Type=simple\\nAmbientCapabilities=CAP_NET_BIND_SERVICE/' ${INSTALLED} && systemctl --user -M hosts-doc@ daemon-reload && systemctl --user -M hosts-doc@ restart ${UNIT} || true`);
    await waitUntil('the unit to fail with 218', 30_000, async () => (await host.showUnit('hosts-doc', UNIT, ['ExecMainStatus'])).ExecMainStatus === '218');
    expect(await host.journal(UNIT, 50)).toMatch(/status=218\/CAPABILITIES/);

    const broken = await statusAgent(host, 'doc');
    expect(broken.agent.execMainStatus).toBe(218);
    expect(['activating', 'failed']).toContain(broken.agent.activeState);
    expect(broken.agent.state).toBe('fail');
    expect(broken.exit).toBe(9);
    expect(broken.agent.journal?.join('\n')).toMatch(/CAPABILITIES/);

    const doc = await host.certwright(['doctor', '--env', 'test', '--json'], { env: lab.vault().cliEnv() });
    const report = JSON.parse(doc.stdout) as { findings: Array<{ check: string; subject: string; message: string; fix: string; file?: string; line?: number }> };
    const failed = report.findings.find((f) => f.check === 'unit-failed' && f.subject.startsWith(UNIT));
    expect(failed, doc.stdout.slice(0, 2000)).toBeDefined();
    expect(failed!.message).toMatch(/status=218\/CAPABILITIES/);
    expect(failed!.message).toContain('"AmbientCapabilities=CAP_NET_BIND_SERVICE"');
    expect(failed!).toMatchObject({ file: INSTALLED, line: 6 });
    expect(failed!.fix).toContain(`Delete line 6 ("AmbientCapabilities=CAP_NET_BIND_SERVICE") from ${INSTALLED}`);
    expect(failed!.fix).toContain(`systemctl --user -M hosts-doc@ daemon-reload && systemctl --user -M hosts-doc@ restart ${UNIT}`);
    // the same in text form, for a person
    const text = await host.certwright(['doctor', '--env', 'test'], { env: lab.vault().cliEnv() });
    expect(text.code).toBe(9);
    expect(text.stdout).toMatch(/FAIL bao-agent-test-app-doc\.service \(hosts-doc\)/);

    // the fix doctor printed, done as an operator would
    const logins = (await host.journal(UNIT, 500)).match(/authentication successful/gi)?.length ?? 0;
    await host.sh(`sed -i '${failed!.line}d' ${INSTALLED} && systemctl --user -M hosts-doc@ daemon-reload && systemctl --user -M hosts-doc@ restart ${UNIT}`);
    await waitUntil('the fixed unit to run and log in', 60_000, async () => {
      const p = await host.showUnit('hosts-doc', UNIT, ['ActiveState', 'SubState', 'ExecMainStatus', 'MainPID']);
      const n = (await host.journal(UNIT, 500)).match(/authentication successful/gi)?.length ?? 0;
      return p.ActiveState === 'active' && p.SubState === 'running' && p.ExecMainStatus === '0' && Number(p.MainPID) > 0 && n > logins;
    });
    const after = await host.certwright(['doctor', '--env', 'test', '--json'], { env: lab.vault().cliEnv() });
    const afterReport = JSON.parse(after.stdout) as { findings: Array<{ check: string }> };
    expect(afterReport.findings.filter((f) => f.check === 'unit-failed' || f.check === 'unit-capabilities')).toEqual([]);
    expect((await statusAgent(host, 'doc')).agent).toMatchObject({ activeState: 'active', execMainStatus: 0 });
  });

  it('doctor on the real host also finds: a tls=true container the agent\'s user cannot reload, an agent without ca_cert failing with unknown authority (from its journal), and a sink at /dev/null that stops the unit', async () => {
    const host = sh.host();
    await host.addUser('hosts-far');
    const unit = 'bao-agent-test-app-far.service';
    const hcl = '/home/hosts-far/agent/agent.hcl';
    const args = ['agent', 'app', '--env', 'test', '--mount', 'pki_app', '--name', 'far', '--common-name', 'far.hosts.test', '--tls-dir', '/home/hosts-far/tls', '--out', '/home/hosts-far/agent', '--user', 'hosts-far', '--bao', '/usr/local/bin/bao', '--persistent-secret-id', '--install'];
    const inst = await host.certwright(args, { env: lab.vault().cliEnv() });
    expect(inst.code, inst.stderr + inst.stdout).toBe(0);
    const findings = async (check: string) => {
      const r = await host.certwright(['doctor', '--env', 'test', '--json'], { env: lab.vault().cliEnv() });
      return (JSON.parse(r.stdout) as { findings: Array<{ check: string; subject: string; message: string; fix: string }> }).findings.filter((f) => f.check === check);
    };

    // root's container mounting hosts-far's TLS dir: hosts-far's hook (its rootless Podman) never sees it
    await host.importBusybox();
    await host.sh('podman run -d --runtime crun --cgroups=disabled --name hosts-root-far --network host --label tls=true -v /home/hosts-far/tls:/tls:ro localhost/hosts-bb sleep 100000 >/dev/null');
    expect((await host.podman(['ps', '--format', '{{.Names}}'], 'hosts-far')).stdout.trim()).toBe('');
    const unreachable = await findings('container-unreachable');
    expect(unreachable).toHaveLength(1);
    expect(unreachable[0]!.subject).toBe('container hosts-root-far');
    expect(unreachable[0]!.message).toMatch(/hook runs as hosts-far and reloads only hosts-far's own containers/);
    expect(unreachable[0]!.fix).toMatch(/Run the container in hosts-far's rootless Podman/);
    await host.sh('podman rm -f -t 0 hosts-root-far >/dev/null');

    // no ca_cert: the agent runs, but its journal says unknown authority
    await host.sh(`sed -i '/^  ca_cert = /d' ${hcl} && systemctl --user -M hosts-far@ restart ${unit}`);
    await waitUntil('the agent to log unknown authority', 60_000, async () => /unknown authority/i.test(await host.journal(unit, 30)));
    const ua = await findings('agent-unknown-authority');
    expect(ua).toHaveLength(1);
    expect(ua[0]!.message).toMatch(/has no vault \{ ca_cert \}/);
    expect(ua[0]!.fix).toContain(`Add ca_cert = "<the root that signed Vault's certificate>" to the vault block of ${hcl}`);
    // certwright's own fix: the same command puts the generated config back and restarts the unit
    const fixed = await host.certwright(args, { env: lab.vault().cliEnv() });
    expect(fixed.code, fixed.stderr + fixed.stdout).toBe(0);
    expect(await host.sh(`grep -c '^  ca_cert = ' ${hcl}`)).toMatch(/^1/);

    // a token sink at /dev/null: the service user's agent cannot pass its write check and stops
    await host.sh(`sed -i 's|^  # No token sink.*$|  sink "file" {\\n    config = {\\n      path = "/dev/null"\\n    }\\n  }|' ${hcl} && grep -q '/dev/null' ${hcl} && systemctl --user -M hosts-far@ restart ${unit} || true`);
    await waitUntil('the agent with a /dev/null sink to fail', 60_000, async () => {
      const p = await host.showUnit('hosts-far', unit, ['ActiveState', 'ExecMainStatus']);
      return p.ExecMainStatus !== '0' && (p.ActiveState === 'failed' || p.ActiveState === 'activating');
    });
    expect((await findings('sink-dev-null')).length).toBe(1);
    const failed = await findings('unit-failed');
    expect(failed.map((f) => f.subject)).toContain(`${unit} (hosts-far)`);
  });
});
