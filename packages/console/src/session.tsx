/**
 * The signed-in operator and what their role lets them do. The server enforces roles anyway; the
 * console only hides what would be refused.
 */
import { createContext, useContext } from 'react';
import type { Role, SessionOperator } from './api/types';

export interface Permissions {
  /** Change anything: environments, clients, users (and revoke their consents), operators. */
  readonly manage: boolean;
  /** Start impersonation, and end one's own (an admin may end any: `mayEndImpersonation`). */
  readonly impersonate: boolean;
}

export function permissionsFor(role: Role): Permissions {
  return { manage: role === 'admin', impersonate: role === 'admin' || role === 'support' };
}

export interface SessionValue {
  readonly operator: SessionOperator;
  readonly can: Permissions;
}

/**
 * Whether the signed-in operator may end an impersonation: the operator who started it, or an
 * admin (the server answers others `403 forbidden`).
 */
export function mayEndImpersonation(
  session: SessionValue,
  impersonation: { readonly operatorId: string },
): boolean {
  return (
    session.can.manage ||
    (session.can.impersonate && impersonation.operatorId === session.operator.id)
  );
}

export const SessionContext = createContext<SessionValue | null>(null);

export function useSession(): SessionValue {
  const session = useContext(SessionContext);
  if (session === null) throw new Error('useSession outside a signed-in console');
  return session;
}
