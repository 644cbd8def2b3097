import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Whether a sandbox can be set up here: the programs it needs, root or sudo, and its unprivileged user. */

/** How to set up a sandbox: the prefix that makes a command root (none, or `sudo -n`) and the user it runs as. */
export interface Isolation {
  prefix: string[];
  uid: number;
  gid: number;
  user: string;
}

function onPath(program: string, env: NodeJS.ProcessEnv): boolean {
  const dirs = (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter).concat(['/usr/sbin', '/sbin']);
  return dirs.some((dir) => {
    try {
      accessSync(join(dir, program), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function exec(file: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise) => {
    execFile(
      file,
      args,
      { env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolvePromise({ code, output: `${stdout}${stderr}`.trim() });
      },
    );
  });
}

async function sandboxUser(prefix: string[], user: string): Promise<{ uid: number; gid: number } | string> {
  const lookup = async () => {
    const { code, output } = await exec('getent', ['passwd', user]);
    const fields = output.split(':');
    return code === 0 && fields.length >= 4 ? { uid: Number(fields[2]), gid: Number(fields[3]) } : undefined;
  };
  let found = await lookup();
  for (let attempt = 0; !found && attempt < 3; attempt++) {
    const [file, ...args] = [
      ...prefix,
      'useradd',
      '--system',
      '--user-group',
      '--no-create-home',
      '--home-dir',
      '/nonexistent',
      '--shell',
      '/usr/sbin/nologin',
      user,
    ];
    const made = await exec(file!, args);
    found = await lookup();
    // Another process creating the same user at once is fine; the password file may be locked a moment.
    if (!found && attempt === 2) return `could not create the user ${user}: ${made.output}`;
    if (!found) await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
  }
  if (found!.uid === 0) return `the user ${user} has uid 0`;
  return found!;
}

/** Why isolation cannot be set up here, or how to set it up: root directly, else passwordless sudo. */
export async function findIsolation(env: NodeJS.ProcessEnv, user: string): Promise<Isolation | string> {
  if (process.platform !== 'linux') return `${process.platform} has no Linux namespaces`;
  const missing = [
    'unshare',
    'setpriv',
    'timeout',
    'bash',
    'env',
    'cp',
    'find',
    'chown',
    'mount',
    'stat',
    'install',
  ].filter((p) => !onPath(p, env));
  if (missing.length > 0) return `${missing.join(', ')} not found (util-linux and coreutils provide them)`;
  let prefix: string[];
  if (process.getuid?.() === 0) prefix = [];
  else if ((await exec('sudo', ['-n', 'true'])).code === 0) prefix = ['sudo', '-n'];
  else return 'this process is not root, and `sudo -n` is not allowed: sudo is missing or wants a password';
  const account = await sandboxUser(prefix, user);
  if (typeof account === 'string') return account;
  return { prefix, user, ...account };
}
