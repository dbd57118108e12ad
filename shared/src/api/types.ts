/** Types derived from a route definition: what a client sends, gets back, and a handler returns. */
import type { z } from 'zod';
import type { RouteDef } from './route.ts';

type Responses<R extends RouteDef> = R['responses'];
type JsonSchemaOf<T> = T extends { type: 'json'; schema: infer S extends z.ZodType } ? S : never;

/** The union of a route's JSON response schemas (never when it answers with bytes or a stream). */
export type JsonResponseSchema<R extends RouteDef> = {
  [S in keyof Responses<R>]: JsonSchemaOf<Responses<R>[S]>;
}[keyof Responses<R>];

/** What a client gets: the parsed JSON body, or the raw Response of a binary or streaming route. */
export type ResultOf<R extends RouteDef> = [JsonResponseSchema<R>] extends [never]
  ? Response
  : z.output<JsonResponseSchema<R>>;

type ParamsPart<R extends RouteDef> = R extends { params: infer P extends z.ZodType }
  ? { params: z.input<P> }
  : { params?: undefined };
type QueryPart<R extends RouteDef> = R extends { query: infer Q extends z.ZodType }
  ? { query?: Partial<Record<keyof z.input<Q>, string | number | boolean | undefined>> }
  : { query?: undefined };
type BodyPart<R extends RouteDef> = R extends { body: { type: 'json'; schema: infer B extends z.ZodType } }
  ? { body: z.input<B> }
  : R extends { body: { type: 'multipart' } }
    ? { body: FormData }
    : { body?: undefined };

/** What a client sends. */
export type CallInput<R extends RouteDef> = ParamsPart<R> &
  QueryPart<R> &
  BodyPart<R> & {
    signal?: AbortSignal;
    headers?: Record<string, string>;
    /** Per-call timeout (ms); null for none (large downloads bounded by `signal`). */
    timeoutMs?: number | null;
    /** 'manual' hands a 3xx back to the caller instead of following it (a presigned Location). */
    redirect?: 'follow' | 'manual';
  };

type ReplyFor<T, S> = T extends { type: 'json'; schema: infer X extends z.ZodType }
  ? { status: S; body: z.input<X>; headers?: Record<string, string> }
  : Response;

/** What a server handler returns: a JSON reply with one of the documented statuses, or a Response. */
export type ReplyOf<R extends RouteDef> = {
  [S in keyof Responses<R>]: ReplyFor<Responses<R>[S], S>;
}[keyof Responses<R>];

/** What a server handler receives, validated. */
export interface HandlerInput<R extends RouteDef> {
  params: R extends { params: infer P extends z.ZodType } ? z.output<P> : Record<string, never>;
  query: R extends { query: infer Q extends z.ZodType } ? z.output<Q> : Record<string, never>;
  body: R extends { body: { schema: infer B extends z.ZodType } } ? z.output<B> : undefined;
}
