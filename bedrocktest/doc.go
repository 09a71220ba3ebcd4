// Package bedrocktest is a Bedrock Runtime emulator: a Converse, ConverseStream and CountTokens
// server on loopback that the real aws-sdk-go-v2 client talks to, in the spirit of
// net/http/httptest. With Options.BatchStore the same URL also serves the batch-inference
// control plane of package batchjobs to a service/bedrock client, its records answered as
// Converse answers them.
//
// Answers are deterministic (see [Answer], [ToolInput] and [CountTokens]), so a test can
// recompute what a correct client must report. [Options] add latency, server-side quotas per
// model (requests and tokens per minute, tokens per day, reserved at admission and settled at
// completion with output burndown like Bedrock), prompt caching, guardrails, tool use, media
// validation, and seeded fault injection (throttles, 5xx, connection resets, hangs,
// mid-stream exceptions and cuts, tool inputs that break their schema).
//
// The order in which a call is handled, and what each step costs:
//
//  1. Route: an http.ServeMux picks the operation by method and path pattern.
//     POST /model/{modelId}/converse and /converse-stream take the steps below, with the
//     {modelId} segment path-unescaped (an ARN's ':' and '/' arrive as the caller wrote them).
//     POST /model/{modelId}/count-tokens is CountTokens (counted in Stats.CountTokens only);
//     the control plane's paths go to batchjobs (counted in BatchStats). Anything else,
//     including a path the mux would clean (an empty, . or .. segment) or a model id whose '/'
//     is not escaped, is a 404 UnknownOperationException (counted in Stats.Requests only;
//     Observe is not called).
//  2. Decode the body and call Options.Observe (also for bodies that fail to decode).
//  3. Validate: 400 ValidationException (Stats.Invalid), consuming no quota, for a body that
//     is not JSON, no messages, a first message not from the user, a role other than user or
//     assistant, a message without content, maxTokens below 1, a text containing
//     InvalidMarker; images and documents (format, size, count, document name, s3Location for
//     a model not in Options.S3LocationModels); cachePoints (type, ttl, at most 4); the
//     toolConfig (names, schemas, a toolChoice naming a defined tool); the guardrailConfig
//     (patterns, Options.Guardrails); performanceConfig.latency and serviceTier.type; and the
//     model rules (Options.NeedsInferenceProfile, TemperatureXorTopP, MaxOutputTokens).
//  4. Faults: the dice for Throttle, InternalError, Unavailable, Reset, Hang,
//     MidStreamException and StreamCut are rolled in that order on every call; the first that
//     fires is the call's fault. Throttle, InternalError, Unavailable, Reset and Hang act now,
//     before admission, and consume no quota.
//  5. Quota: admission takes, from the model's own quotas, one request from the RPM bucket
//     and every input token (cached or not) + maxTokens from the TPM bucket and the day's
//     TPD allowance, or answers 429 ThrottlingException and consumes nothing.
//  6. Latency: Options.Latency is slept (the reservation is held meanwhile).
//  7. Answer: a guardrail intervention when a guardrailConfig was sent and a text contains
//     GuardrailMarker; a toolUse block when toolChoice forces a tool; the text answer
//     otherwise. The prompt cache then splits the input tokens into inputTokens,
//     cacheReadInputTokens and cacheWriteInputTokens. Converse answers at once;
//     ConverseStream streams the answer, where MidStreamException and StreamCut act after the
//     first delta.
//  8. Settle: the TPM bucket and the day count keep inputTokens + cacheWriteInputTokens +
//     the output tokens actually sent × Options.Burndown, and get back the rest.
//
// Token counts: a text counts its words ([CountTokens]); an image [ImageTokens]; a document
// [DocumentTokens]; a tool definition the words of its name, description and schema JSON;
// a tool use or tool result in the history the words of its JSON and text. CountTokens calls
// answer the same total.
package bedrocktest
