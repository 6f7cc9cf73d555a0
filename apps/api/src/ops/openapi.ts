import { z } from 'zod';
import { RamdiskDataSchema, RuleSchema, STATES, StateSchema } from '@inspector/shared';
import { MAX_VERSION, MIN_VERSION } from '../middleware/api-version.ts';

/**
 * The API's OpenAPI 3.1 document. Bodies are the zod schemas themselves,
 * turned into JSON Schema by `z.toJSONSchema`; the answer shapes that the
 * routes build by hand are written here as zod schemas, and tests hold the
 * routes' real answers to them.
 */

export const ErrorBodySchema = z
  .object({ error: z.object({ message: z.string() }) })
  .meta({ description: 'Every error answer' });

const LinkSchema = z.object({ rel: z.string(), href: z.string() });

export const StatusSchema = z
  .object({
    uuid: z.guid(),
    state: StateSchema,
    finished: z.boolean(),
    error: z.string().nullable(),
    started_at: z.string().meta({ description: 'UTC, ISO 8601 without a zone, microseconds' }),
    finished_at: z.string().nullable(),
    links: z.array(LinkSchema),
  })
  .meta({ description: 'One introspection run of one node' });

export const StatusListSchema = z.object({ introspection: z.array(StatusSchema) });

export const ContinueReplySchema = z
  .object({
    uuid: z.guid(),
    ipmi_setup_credentials: z.literal(true).optional(),
    ipmi_username: z.string().optional(),
    ipmi_password: z.string().optional(),
  })
  .meta({ description: 'The ipmi_* keys only when new IPMI credentials were requested' });

export const VersionsSchema = z.object({
  versions: z.array(z.object({ id: z.string(), status: z.string(), links: z.array(LinkSchema) })),
});

export const ResourcesSchema = z.object({
  resources: z.array(z.object({ name: z.string(), links: z.array(LinkSchema) })),
});

export const HealthSchema = z.object({ status: z.literal('ok') });

export const RuleViewSchema = RuleSchema.extend({ links: z.array(LinkSchema) }).meta({
  description: 'An introspection rule, its defaults filled in',
});

/** What a client posts: the service makes the UUID, and the rest has defaults. */
const RuleInputSchema = RuleSchema.partial({
  uuid: true,
  description: true,
  scope: true,
  conditions: true,
});

export const RuleListSchema = z.object({
  rules: z.array(
    RuleSchema.pick({ uuid: true, description: true, scope: true }).extend({
      links: z.array(LinkSchema),
    }),
  ),
});

/** What GET .../data answers: the ramdisk's keys plus what the hooks derived. */
const StoredDataSchema = z.looseObject({});

const EmptySchema = z.object({}).meta({ description: 'An empty object' });

const SCHEMAS = {
  Error: ErrorBodySchema,
  Status: StatusSchema,
  StatusList: StatusListSchema,
  RamdiskData: RamdiskDataSchema,
  ContinueReply: ContinueReplySchema,
  StoredData: StoredDataSchema,
  Versions: VersionsSchema,
  Resources: ResourcesSchema,
  Health: HealthSchema,
  RuleInput: RuleInputSchema,
  RuleView: RuleViewSchema,
  RuleList: RuleListSchema,
  Empty: EmptySchema,
} satisfies Record<string, z.ZodType>;
type SchemaName = keyof typeof SCHEMAS;

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  // Inputs are what clients send; unions with transforms (counts as strings) stay described.
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input' });
  return rest;
}

const ref = (name: SchemaName) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: SchemaName, description: string) => ({
  description,
  content: { 'application/json': { schema: ref(name) } },
});
const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [String(s), { $ref: `#/components/responses/Error${s}` }] as const),
  );

const ERROR_MEANINGS: Record<number, string> = {
  400: 'Bad request: the message names what is wrong',
  401: 'Authentication required or failed',
  403: 'Forbidden',
  404: 'Not found',
  406: 'Unsupported API version',
  409: 'Conflict with the state of the run, or a rule with that UUID exists',
  413: 'Body over MAX_BODY_BYTES',
  415: 'Compressed body (Content-Encoding): send JSON as it is',
  503: 'Redis or Ironic unavailable, retry later',
};

const nodeParam = {
  name: 'node',
  in: 'path',
  required: true,
  description: 'Node UUID, or its name in Ironic',
  schema: { type: 'string' },
};

const query = (name: string, description: string, schema: Record<string, unknown>) => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
});

const tags = { api: ['introspection'], ops: ['operations'] };

/** The document served at /v1/openapi.json. */
export function openApiDocument(): Record<string, unknown> {
  const paths = {
    '/': {
      get: {
        tags: tags.api,
        summary: 'API versions (public)',
        security: [],
        responses: { '200': json('Versions', 'Supported versions') },
      },
    },
    '/v1': {
      get: {
        tags: tags.api,
        summary: 'Resources of version 1 (public)',
        security: [],
        responses: { '200': json('Resources', 'Resource links') },
      },
    },
    '/v1/continue': {
      post: {
        tags: tags.api,
        summary: "The ramdisk's callback with what it found (public)",
        security: [],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: ref('RamdiskData') } },
        },
        responses: {
          '200': json('ContinueReply', 'Data accepted; processing goes on in a worker'),
          ...errors(400, 403, 404, 413, 415, 503),
        },
      },
    },
    '/v1/introspection': {
      get: {
        tags: tags.api,
        summary: 'Runs, newest first',
        parameters: [
          query('marker', 'UUID of the last run of the previous page', {
            type: 'string',
            format: 'uuid',
          }),
          query('limit', 'Page size (0: API_MAX_LIMIT)', { type: 'integer', minimum: 0 }),
          query('state', `Comma-separated states: ${STATES.join(', ')}`, { type: 'string' }),
        ],
        responses: { '200': json('StatusList', 'One page of runs'), ...errors(400, 404, 503) },
      },
    },
    '/v1/introspection/{node}': {
      parameters: [nodeParam],
      post: {
        tags: tags.api,
        summary: 'Start introspecting a node',
        parameters: [
          query('manage_boot', 'Whether the service powers the node (default true)', {
            type: 'string',
          }),
          query('new_ipmi_username', 'User name to set on the BMC (credential setup)', {
            type: 'string',
          }),
          query('new_ipmi_password', 'Password to set on the BMC (credential setup)', {
            type: 'string',
          }),
        ],
        responses: {
          '202': json('Empty', 'Started; power actions follow in a worker'),
          ...errors(400, 404, 409, 503),
        },
      },
      get: {
        tags: tags.api,
        summary: 'Status of the latest run of a node',
        responses: { '200': json('Status', 'The run'), ...errors(404, 503) },
      },
    },
    '/v1/introspection/{node}/abort': {
      parameters: [nodeParam],
      post: {
        tags: tags.api,
        summary: 'Abort a run that is starting or waiting',
        responses: { '202': json('Empty', 'Aborting'), ...errors(404, 409, 503) },
      },
    },
    '/v1/introspection/{node}/data': {
      parameters: [nodeParam],
      get: {
        tags: tags.api,
        summary: 'Processed introspection data',
        responses: { '200': json('StoredData', 'The stored data'), ...errors(404, 503) },
      },
    },
    '/v1/introspection/{node}/data/unprocessed': {
      parameters: [nodeParam],
      get: {
        tags: tags.api,
        summary: 'Data as the ramdisk sent it (logs removed)',
        responses: { '200': json('StoredData', 'The stored data'), ...errors(404, 503) },
      },
      post: {
        tags: tags.api,
        summary: 'Reapply processing to stored data, or to the data in the body',
        requestBody: {
          required: false,
          content: { 'application/json': { schema: ref('RamdiskData') } },
        },
        responses: { '202': json('Empty', 'Reapplying'), ...errors(400, 404, 409, 413, 415, 503) },
      },
    },
    '/v1/rules': {
      get: {
        tags: tags.api,
        summary: 'Introspection rules, oldest first',
        responses: { '200': json('RuleList', 'Every rule'), ...errors(503) },
      },
      post: {
        tags: tags.api,
        summary: 'Create a rule (applied to every processing and reapply)',
        requestBody: {
          required: true,
          content: { 'application/json': { schema: ref('RuleInput') } },
        },
        responses: {
          '201': json('RuleView', 'Created (200 before API 1.6)'),
          ...errors(400, 409, 413, 415, 503),
        },
      },
      delete: {
        tags: tags.api,
        summary: 'Delete every rule',
        responses: { '204': { description: 'Deleted' }, ...errors(503) },
      },
    },
    '/v1/rules/{uuid}': {
      parameters: [
        {
          name: 'uuid',
          in: 'path',
          required: true,
          description: 'Rule UUID',
          schema: { type: 'string' },
        },
      ],
      get: {
        tags: tags.api,
        summary: 'One rule',
        responses: { '200': json('RuleView', 'The rule'), ...errors(404, 503) },
      },
      delete: {
        tags: tags.api,
        summary: 'Delete one rule',
        responses: { '204': { description: 'Deleted' }, ...errors(404, 503) },
      },
    },
    '/v1/openapi.json': {
      get: {
        tags: tags.ops,
        summary: 'This document (public)',
        security: [],
        responses: {
          '200': { description: 'OpenAPI 3.1', content: { 'application/json': {} } },
        },
      },
    },
    '/healthz': {
      get: {
        tags: tags.ops,
        summary: 'Liveness: the process answers (public)',
        security: [],
        responses: { '200': json('Health', 'Alive') },
      },
    },
    '/readyz': {
      get: {
        tags: tags.ops,
        summary: 'Readiness: Redis answers PING in time (public)',
        security: [],
        responses: { '200': json('Health', 'Ready'), ...errors(503) },
      },
    },
    '/metrics': {
      get: {
        tags: tags.ops,
        summary: 'Prometheus metrics of this process (public: aggregates only)',
        security: [],
        responses: {
          '200': {
            description: 'Prometheus text format',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
        },
      },
    },
    '/dashboard': {
      get: {
        tags: tags.ops,
        summary: 'Queue dashboard (bull-board): read-only, full control for admins',
        responses: {
          '200': { description: 'HTML', content: { 'text/html': {} } },
          ...errors(401, 403),
        },
      },
    },
  };

  // Refusals that come from middleware, not from a route, written once here: every API operation
  // negotiates a version (406), each behind authentication may refuse the caller (401, 403), and
  // a node identifier that is neither a UUID nor a name is a 400.
  for (const [path, item] of Object.entries(paths)) {
    for (const op of Object.values(item as Record<string, unknown>)) {
      if (typeof op !== 'object' || op === null || !('responses' in op)) continue;
      const operation = op as { tags: string[]; security?: unknown[]; responses: object };
      if (operation.tags !== tags.api) continue;
      operation.responses = {
        ...operation.responses,
        ...(path.includes('{node}') ? errors(400) : {}),
        ...(operation.security?.length === 0 ? {} : errors(401, 403)),
        ...errors(406),
      };
    }
  }

  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'ironic-inspector-ts',
      version: `${MIN_VERSION.join('.')}-${MAX_VERSION.join('.')}`,
      description:
        'Bare-metal introspection speaking the HTTP API of OpenStack ironic-inspector. Send X-OpenStack-Ironic-Inspector-API-Version to pick a microversion; every answer names the supported range.',
    },
    tags: [
      { name: 'introspection', description: 'The ironic-inspector API' },
      { name: 'operations', description: 'Health, metrics, dashboard and this document' },
    ],
    // Which one applies is AUTH_STRATEGY's choice; under noauth neither is asked for.
    security: [{ keystone: [] }, { httpBasic: [] }],
    paths,
    components: {
      securitySchemes: {
        keystone: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Auth-Token',
          description: 'A Keystone token (AUTH_STRATEGY=keystone)',
        },
        httpBasic: {
          type: 'http',
          scheme: 'basic',
          description: 'A user of HTPASSWD_FILE (AUTH_STRATEGY=http_basic)',
        },
      },
      schemas: Object.fromEntries(
        Object.entries(SCHEMAS).map(([name, schema]) => [name, jsonSchema(schema)]),
      ),
      responses: Object.fromEntries(
        Object.entries(ERROR_MEANINGS).map(([status, description]) => [
          `Error${status}`,
          json('Error', description),
        ]),
      ),
    },
  };
}
