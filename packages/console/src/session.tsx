/**
 * The signed-in operator and what their role lets them do. The server enforces roles anyway; the
 * console only hides what would be refused.
 */
import { createContext, useContext } from 'react';
import type { Role, SessionOperator } from './api/types';

export interface Permissions {
  /** Change anything: environments, clients, users, operators. */
  readonly manage: boolean;
  /** Start and end impersonation. */
  readonly impersonate: boolean;
}

export function permissionsFor(role: Role): Permissions {
  return { manage: role === 'admin', impersonate: role === 'admin' || role === 'support' };
}

export interface SessionValue {
  readonly operator: SessionOperator;
  readonly can: Permissions;
}

export const SessionContext = createContext<SessionValue | null>(null);

export function useSession(): SessionValue {
  const session = useContext(SessionContext);
  if (session === null) throw new Error('useSession outside a signed-in console');
  return session;
}
