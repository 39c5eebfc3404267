/**
 * @module server/routes/common
 * Pieces every route module shares: the error body, the security requirement, id parameters, and
 * `jsonRoute` which declares a route once (zod schemas → validation and the OpenAPI document).
 */
import { createRoute, type RouteConfig, z } from "@hono/zod-openapi";

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "NOT_FOUND" }),
      message: z.string(),
      field: z.string().optional(),
    }),
  })
  .openapi("Error");

const errorResponse = (description: string) => ({ description, content: { "application/json": { schema: ErrorBody } } });

export const ERRORS = {
  401: errorResponse("No session or API token"),
  403: errorResponse("CSRF token missing or wrong, or the role does not allow it"),
  404: errorResponse("Not found"),
  422: errorResponse("Invalid input; `field` names it"),
} as const;

export const SECURITY: Array<Record<string, string[]>> = [{ cookieSession: [] }, { bearerToken: [] }];

export const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: "id", in: "path" } }),
});

export const Ok = z.object({ ok: z.literal(true) }).openapi("Ok");

/** `POST /api/backups/{id}/cancel` and `POST /api/restores/{id}/cancel`. */
export const CancelAnswer = z
  .object({
    ok: z.literal(true),
    cancelRequested: z.boolean().openapi({
      description:
        "true: another server (PostgreSQL metadata) runs the job; the cancel is recorded on its row and that server aborts it at its next heartbeat (JOB_HEARTBEAT_INTERVAL). false: cancelled by this answer",
    }),
  })
  .openapi("CancelAnswer");

type JsonResponses<St extends number, S extends z.ZodType> = {
  [K in St]: { description: string; content: { "application/json": { schema: S } } };
};

/** A JSON route: `responses[status]` gets `schema`; the standard errors (and the security requirement) are added unless public. */
export function jsonRoute<
  const M extends RouteConfig["method"],
  const P extends string,
  S extends z.ZodType,
  // biome-ignore lint/complexity/noBannedTypes: "no request parts" for the route types
  Req extends NonNullable<RouteConfig["request"]> = {},
  St extends 200 | 201 | 202 = 200,
>(config: {
  method: M;
  path: P;
  schema: S;
  request?: Req;
  status?: St;
  tags?: string[];
  summary?: string;
  description?: string;
  public?: boolean;
  extraErrors?: Record<number, string>;
}) {
  const { status = 200, schema, description = "OK", public: isPublic, extraErrors, request, ...rest } = config;
  const extra = Object.fromEntries(Object.entries(extraErrors ?? {}).map(([code, text]) => [code, errorResponse(text)]));
  return createRoute({
    ...rest,
    ...(request ? { request } : {}),
    ...(isPublic ? {} : { security: SECURITY }),
    responses: {
      ...(isPublic ? {} : ERRORS),
      ...extra,
      [status]: { description, content: { "application/json": { schema } } },
    },
  } as { method: M; path: P; request: Req; responses: JsonResponses<St, S> });
}

export const jsonBody = <S extends z.ZodType>(schema: S) => ({
  body: { content: { "application/json": { schema } }, required: true },
});

export const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);
