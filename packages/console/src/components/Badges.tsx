import type { ReactNode } from 'react';
import type { ClientKind, Tier } from '../api/types';

export function TierBadge({ tier }: { readonly tier: Tier }) {
  return <span className={`badge tier-${tier}`}>{tier}</span>;
}

export function Badge({
  children,
  tone = 'neutral',
  title,
}: {
  readonly children: ReactNode;
  readonly tone?: 'neutral' | 'info' | 'ok' | 'warn' | 'danger';
  readonly title?: string;
}) {
  return (
    <span className={`badge badge-${tone}`} title={title}>
      {children}
    </span>
  );
}

/** Clients nobody registered by hand: their name and metadata are their own claims. */
export function KindBadge({ kind }: { readonly kind: ClientKind }) {
  if (kind === 'registered') return null;
  return (
    <Badge
      tone="warn"
      title={
        kind === 'dynamic'
          ? 'Registered itself through dynamic client registration (RFC 7591)'
          : 'Known by its Client ID Metadata Document URL'
      }
    >
      {kind === 'dynamic' ? 'dynamic' : 'metadata document'}
    </Badge>
  );
}

/** Whether a user or operator may sign in. */
export function StatusBadge({ disabled }: { readonly disabled: boolean }) {
  return disabled ? <Badge tone="danger">disabled</Badge> : <Badge tone="ok">active</Badge>;
}
