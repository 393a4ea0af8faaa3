// Response bodies for the three ways a classification is answered: by the edge, by the origin (directly
// or after the edge escalated), or by the edge standing in for an unavailable origin.
//
// timings_ms: decode and preprocess are the edge's own work (0 when the edge never touched the pixels);
// inference is the edge's inference plus the origin's whole round trip (its decode, preprocess and
// inference, queueing and the network), so the four numbers still add up to about the real total.
import type { ClassifyResponse } from '../../shared/api/classify.ts';
import type { Tier } from '../../shared/policy/tiers.ts';
import type { OriginSuccess } from '../origin/interpret.ts';
import type { EdgeRun } from './run-result.ts';

export interface EdgeWork {
  run: EdgeRun;
  decodeMs: number;
}

export interface AnswerContext {
  requestId: string;
  topK: number;
  /** performance.now() when the handler started. */
  started: number;
}

export function edgeAnswer(ctx: AnswerContext, tier: Tier, edge: EdgeWork): ClassifyResponse {
  return {
    request_id: ctx.requestId,
    model: edge.run.model,
    tier,
    weights: edge.run.weights,
    predictions: edge.run.predictions.slice(0, ctx.topK),
    timings_ms: timings(ctx, edge, 0),
  };
}

export function originAnswer(
  ctx: AnswerContext,
  tier: Tier,
  origin: OriginSuccess,
  originMs: number,
  edge: EdgeWork | undefined,
): ClassifyResponse {
  const { response } = origin;
  return {
    request_id: ctx.requestId,
    model: response.model,
    tier,
    weights: response.weights,
    predictions: response.predictions.slice(0, ctx.topK),
    timings_ms: timings(ctx, edge, originMs),
    ...(edge ? { escalated: true, edge: { model: edge.run.model, top1_score: edge.run.top1 } } : {}),
  };
}

export function degradedAnswer(
  ctx: AnswerContext,
  tier: Tier,
  edge: EdgeWork,
  reason: string,
  originMs: number,
): ClassifyResponse {
  return {
    ...edgeAnswer(ctx, tier, edge),
    timings_ms: timings(ctx, edge, originMs),
    degraded: true,
    degraded_reason: reason,
  };
}

function timings(ctx: AnswerContext, edge: EdgeWork | undefined, originMs: number) {
  return {
    decode: round(edge?.decodeMs ?? 0),
    preprocess: round(edge?.run.preprocessMs ?? 0),
    inference: round((edge?.run.inferenceMs ?? 0) + originMs),
    total: round(performance.now() - ctx.started),
  };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
