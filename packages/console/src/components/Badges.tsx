import type { ReactNode } from 'react';
import type { Tier } from '../api/types';

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
