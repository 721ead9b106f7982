import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../http/deps.js';
import {
  formatRedirectReport,
  REPORT_FORMATS,
  REPORT_MEDIA_TYPES,
  reportFileName,
  type ReportFormat,
} from '../services/redirect-report-format.js';
import { REPORT_FLAG_CODES, redirectReport } from '../services/redirect-report.js';
import { adminRoute, envParams, serviceContext } from './route.js';

/**
 * The redirect inventory report of an environment (issue #18), for any operator: JSON for the
 * console, Markdown and CSV as a file to download and attach to a review.
 */

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const nullable = <T extends object>(schema: T) => ({ ...schema, nullable: true }) as const;
const object = (properties: Record<string, object>) => ({
  type: 'object',
  required: Object.keys(properties),
  properties,
});
const flag = object({ code: { type: 'string', enum: REPORT_FLAG_CODES }, reason: str });
const flags = { type: 'array', items: { $ref: 'RedirectReportFlag#' } } as const;

const SCHEMAS: Record<string, object> = {
  RedirectReportFlag: flag,
  RedirectInventoryEntry: object({
    kind: { type: 'string', enum: ['redirect', 'post_logout'] },
    uri: str,
    class: {
      type: 'string',
      enum: ['https', 'loopback', 'private-use-scheme', 'wildcard', 'http', 'unparsable'],
    },
    loopbackHost: nullable(str),
    expiresAt: nullable(int),
    registeredAt: nullable(int),
    registeredBy: nullable(str),
    registeredByLabel: nullable(str),
    channel: str,
    lastUsedAt: nullable(int),
    uses: int,
    requests: int,
    nearMisses: int,
    flags,
  }),
  RedirectInventoryClient: object({
    clientId: str,
    name: str,
    type: { $ref: 'ClientType#' },
    kind: { type: 'string', enum: ['registered', 'dynamic', 'metadata_document'] },
    managedBy: nullable(str),
    promotedFrom: nullable(str),
    entries: { type: 'array', items: { $ref: 'RedirectInventoryEntry#' } },
    flags,
    otherRefusals: int,
  }),
  RedirectReport: object({
    environment: str,
    tier: { $ref: 'Tier#' },
    loopbackHosts: { type: 'array', items: str },
    generatedAt: int,
    unusedDays: int,
    expiringDays: int,
    clients: { type: 'array', items: { $ref: 'RedirectInventoryClient#' } },
    summary: object({
      clients: int,
      redirectUris: int,
      postLogoutUris: int,
      flags: object(Object.fromEntries(REPORT_FLAG_CODES.map((code) => [code, int]))),
    }),
  }),
};

interface ReportQuery {
  format?: ReportFormat;
  unusedDays?: number;
  expiringDays?: number;
}

export function redirectReportRoutes(api: FastifyInstance, deps: AppDeps): void {
  for (const [id, schema] of Object.entries(SCHEMAS)) api.addSchema({ $id: id, ...schema });
  adminRoute(api, {
    method: 'GET',
    url: '/environments/:env/redirect-report',
    access: 'viewer',
    tag: 'environments',
    summary:
      'The redirect inventory: every registered redirect and post-logout URI, its provenance, last use, counts and reviewer flags (JSON, or Markdown / CSV as a download)',
    schema: {
      params: envParams,
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          format: { type: 'string', enum: REPORT_FORMATS },
          unusedDays: { type: 'integer', minimum: 0, maximum: 3650 },
          expiringDays: { type: 'integer', minimum: 0, maximum: 3650 },
        },
      },
      response: { 200: { $ref: 'RedirectReport#' } },
    },
    handler: async (request, reply) => {
      const { env } = request.params as { env: string };
      const q = request.query as ReportQuery;
      const report = await redirectReport(serviceContext(deps, request), env, {
        ...(q.unusedDays === undefined ? {} : { unusedDays: q.unusedDays }),
        ...(q.expiringDays === undefined ? {} : { expiringDays: q.expiringDays }),
      });
      const format = q.format ?? 'json';
      if (format === 'json') return report;
      // A file to keep: the browser saves it rather than rendering what clients named themselves.
      return reply
        .type(REPORT_MEDIA_TYPES[format])
        .header('Content-Disposition', `attachment; filename="${reportFileName(report, format)}"`)
        .header('X-Content-Type-Options', 'nosniff')
        .send(formatRedirectReport(report, format));
    },
  });
}
