import { useState } from 'react';
import { Link } from 'react-router';
import { promoteClient } from '../../api/admin';
import { ApiError } from '../../api/http';
import { keys, useAction } from '../../api/queries';
import type { Client, Environment, PromotionPlan, PromotionResult } from '../../api/types';
import { TierBadge } from '../../components/Badges';
import { ErrorAlert } from '../../components/Feedback';
import { ActionForm, SelectField } from '../../components/Form';
import { SecretOnce } from '../../components/SecretOnce';
import { paths } from '../../paths';

function planFromError(error: unknown): PromotionPlan | null {
  if (!(error instanceof ApiError) || error.code !== 'promotion_refused') return null;
  const details = error.details;
  if (typeof details !== 'object' || details === null) return null;
  const plan = (details as { plan?: unknown }).plan ?? details;
  const candidate = plan as Partial<PromotionPlan>;
  return Array.isArray(candidate.accepted) && Array.isArray(candidate.refused)
    ? (plan as PromotionPlan)
    : null;
}

/** Copy this client to another environment: preview the plan, then apply it. */
export function PromoteSection({
  client,
  targets,
}: {
  readonly client: Client;
  readonly targets: readonly Environment[];
}) {
  const [to, setTo] = useState(targets[0]?.name ?? '');
  const [plan, setPlan] = useState<PromotionPlan | null>(null);
  const preview = useAction({
    run: () => promoteClient(client.environment, client.clientId, { to, dryRun: true }),
    onDone: (answer) => {
      setPlan(answer.plan);
    },
  });
  const promote = useAction({
    run: (current: PromotionPlan) =>
      promoteClient(client.environment, client.clientId, {
        to: current.to,
        ...(current.refused.length > 0 ? { dropRefused: true } : {}),
      }),
    invalidates: (current) => [keys.clients(current.to), keys.environments],
    onDone: () => {
      setPlan(null);
    },
  });
  const busy = preview.isPending || promote.isPending;
  const start = (): void => {
    setPlan(null);
    promote.reset();
    preview.mutate();
  };

  return (
    <section className="panel" aria-labelledby="promote-heading" data-testid="promote">
      <h2 id="promote-heading">Promote</h2>
      <p className="hint">
        Copy this client&apos;s registration to another environment. The target&apos;s policy
        decides which redirect URIs come along.
      </p>
      {targets.length === 0 ? (
        <p className="muted">There is no other environment to promote to.</p>
      ) : (
        <ActionForm
          className="form inline-form"
          action={{ isPending: busy, error: null }}
          onSubmit={start}
          submitLabel="Preview"
          busyLabel={preview.isPending ? 'Previewing…' : 'Preview'}
          buttonClassName="button secondary"
          submitTestId="promote-preview"
          canSubmit={to !== ''}
        >
          <SelectField
            label="Target environment"
            value={to}
            options={targets.map((target) => ({
              value: target.name,
              label: `${target.name} (${target.tier})`,
            }))}
            onChange={(value) => {
              setTo(value);
              setPlan(null);
              preview.reset();
              promote.reset();
            }}
          />
        </ActionForm>
      )}
      <ErrorAlert error={preview.error ?? promote.error} />
      {plan !== null && (
        <PlanView
          plan={plan}
          target={targets.find((t) => t.name === plan.to)}
          busy={promote.isPending}
          onPromote={() => {
            promote.mutate(plan, {
              // The plan changed since the preview: show the one the server refused.
              onError: (error) => {
                setPlan(planFromError(error));
              },
            });
          }}
        />
      )}
      {promote.isSuccess && <ResultView result={promote.data} />}
    </section>
  );
}

function PlanView({
  plan,
  target,
  busy,
  onPromote,
}: {
  readonly plan: PromotionPlan;
  readonly target: Environment | undefined;
  readonly busy: boolean;
  readonly onPromote: () => void;
}) {
  const dropping = plan.refused.length > 0;
  return (
    <section className="plan" data-testid="promote-plan" aria-labelledby="promote-plan-heading">
      <h3 id="promote-plan-heading">
        Plan: {plan.from} → {plan.to} {target !== undefined && <TierBadge tier={target.tier} />}
      </h3>
      <p data-testid="promote-action">
        {plan.action === 'create' ? (
          <>
            Creates a new client in <strong>{plan.to}</strong>.
          </>
        ) : (
          <>
            Updates client <code>{plan.targetClientId ?? ''}</code> in <strong>{plan.to}</strong>.
          </>
        )}
      </p>
      <div className="plan-grid">
        <div>
          <h4>Accepted redirect URIs</h4>
          {plan.accepted.length === 0 ? (
            <p className="muted">None.</p>
          ) : (
            <ul className="uri-list compact">
              {plan.accepted.map((uri) => (
                <li key={uri} data-testid="promote-accepted">
                  <code>{uri}</code>
                </li>
              ))}
            </ul>
          )}
        </div>
        <div>
          <h4>Refused redirect URIs</h4>
          {plan.refused.length === 0 ? (
            <p className="muted">None.</p>
          ) : (
            <ul className="uri-list compact">
              {plan.refused.map((refused) => (
                <li key={refused.uri} data-testid="promote-refused" className="refused">
                  <code>{refused.uri}</code>
                  <span className="policy-refused-text">{refused.message}</span>
                  {refused.suggestion !== undefined && (
                    <span className="hint">
                      Suggestion: <code>{refused.suggestion}</code>
                    </span>
                  )}
                </li>
              ))}
            </ul>
          )}
        </div>
        {plan.skippedExpiring.length > 0 && (
          <div>
            <h4>Skipped (expiring)</h4>
            <ul className="uri-list compact">
              {plan.skippedExpiring.map((uri) => (
                <li key={uri} data-testid="promote-skipped">
                  <code>{uri}</code>
                </li>
              ))}
            </ul>
          </div>
        )}
        <div>
          <h4>Grant types</h4>
          <p>
            {plan.grantTypes.map((grant) => (
              <code key={grant} className="chip">
                {grant}
              </code>
            ))}
          </p>
        </div>
      </div>
      <div className="actions">
        <button
          type="button"
          className="button primary"
          data-testid="promote-apply"
          disabled={busy}
          onClick={onPromote}
        >
          {dropping ? 'Promote without the refused URIs' : 'Promote'}
        </button>
      </div>
    </section>
  );
}

function ResultView({ result }: { readonly result: PromotionResult }) {
  const { plan, client, clientSecret } = result;
  return (
    <div className="promote-result" data-testid="promote-result">
      <p className="alert alert-success" role="status">
        {result.applied
          ? `Promoted to ${plan.to}: ${plan.action === 'create' ? 'client created' : 'client updated'}.`
          : `Nothing was written to ${plan.to}.`}
      </p>
      {clientSecret !== undefined && <SecretOnce secret={clientSecret} />}
      {client !== undefined && (
        <p>
          <Link to={paths.client(client.environment, client.clientId)}>
            Open {client.name} in {client.environment}
          </Link>
        </p>
      )}
    </div>
  );
}
