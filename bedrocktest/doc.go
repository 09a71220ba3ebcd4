// Package bedrocktest is a Bedrock Runtime emulator: a Converse and ConverseStream server
// on loopback that the real aws-sdk-go-v2 client talks to, in the spirit of net/http/httptest.
//
// Answers are deterministic (see [Answer] and [CountTokens]), so a test can recompute what a
// correct client must report. [Options] add latency, server-side quotas (requests and tokens
// per minute, reserved at admission and settled at completion like Bedrock) and seeded fault
// injection (throttles, 5xx, connection resets, hangs, mid-stream exceptions and cuts).
//
// The order in which a call is handled, and what each step costs:
//
//  1. Route: anything but POST /model/{modelId}/converse[-stream] is a 404
//     UnknownOperationException (counted in Stats.Requests only; Observe is not called).
//  2. Decode the body and call Options.Observe (also for bodies that fail to decode).
//  3. Validate: 400 ValidationException (Stats.Invalid) for a body that is not JSON, no
//     messages, a first message not from the user, a role other than user or assistant, a
//     message without content, maxTokens below 1, or a text containing InvalidMarker.
//     Consumes no quota.
//  4. Faults: the dice for Throttle, InternalError, Unavailable, Reset, Hang,
//     MidStreamException and StreamCut are rolled in that order on every call; the first that
//     fires is the call's fault. Throttle, InternalError, Unavailable, Reset and Hang act now,
//     before admission, and consume no quota.
//  5. Quota: admission takes one request from the RPM bucket and inputTokens+maxTokens from the
//     TPM bucket, or answers 429 ThrottlingException and consumes nothing.
//  6. Latency: Options.Latency is slept (the reservation is held meanwhile).
//  7. Answer: Converse answers at once; ConverseStream streams the answer, where
//     MidStreamException and StreamCut act after the first delta.
//  8. Settle: the TPM bucket gets back what the call did not use; it keeps
//     inputTokens plus the output tokens actually sent.
package bedrocktest
