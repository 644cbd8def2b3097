import type { Config, PermissionLevel } from './config.js';
import { mention } from './markers.js';

const ORDER: PermissionLevel[] = ['read', 'triage', 'write', 'maintain', 'admin'];

export interface Actor {
  login: string;
  type: string;
}

/** A repository role as the API names it, or none. */
export type Role = PermissionLevel | 'none';

export function atLeast(role: Role, required: PermissionLevel): boolean {
  return role !== 'none' && ORDER.indexOf(role) >= ORDER.indexOf(required);
}

export type Decision = { allowed: true } | { allowed: false; reason: string };

/**
 * Whether someone may trigger (or approve) a workflow: checked against the role the API reports
 * now, never against `author_association`. Bots are refused unless the configuration names them.
 */
export function mayAct(actor: Actor, role: Role, config: Config, action: 'trigger' | 'approve'): Decision {
  if (actor.type === 'Bot' && !config.allowBots.includes(actor.login)) {
    return {
      allowed: false,
      reason: `${mention(actor.login)} is a bot; bots may ${action} only when \`allowBots\` names them`,
    };
  }
  if (config.approvers.users.includes(actor.login)) return { allowed: true };
  const required =
    action === 'approve'
      ? config.approvers.permission
      : (config.triggerPermission ?? config.approvers.permission);
  if (atLeast(role, required)) return { allowed: true };
  return {
    allowed: false,
    reason: `${mention(actor.login)} has ${role === 'none' ? 'no' : `\`${role}\``} permission on this repository; to ${action} a workflow takes \`${required}\` or higher${config.approvers.users.length > 0 ? ', or being listed in `approvers.users`' : ''}`,
  };
}
