import { execa } from 'execa';

/**
 * Real rootful Podman for the status and doctor tests. The busybox image, the podman probe and the
 * nginx container are the agent tests' (test/helpers/podman.ts); only the sleeper is extra here.
 */
export { IMAGE, podmanStatus, ensureImage, startNginx } from './podman.js';
import { IMAGE } from './podman.js';

export interface Container {
  name: string;
  stop(): Promise<void>;
}

/** A container that only sleeps, as the user given, with a directory mounted. */
export async function startSleeper(options: { name: string; user: string; mount: string; labels: Record<string, string> }): Promise<Container> {
  const labels = Object.entries(options.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  await execa('podman', ['rm', '-f', options.name], { reject: false });
  await execa('podman', ['run', '-d', '--name', options.name, '--user', options.user, ...labels, '-v', `${options.mount}:/tls:ro`, IMAGE, 'sleep', '600']);
  return { name: options.name, stop: async () => void (await execa('podman', ['rm', '-f', '-t', '0', options.name], { reject: false })) };
}
