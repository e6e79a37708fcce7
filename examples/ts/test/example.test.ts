// Runs against the live server that RECALLR_TARGET, RECALLR_API_KEY and
// RECALLR_PROJECT_ID name.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "@recallr/api/google/rpc/error_details_pb.js";
import { ErrorReason } from "@recallr/api/recallr/v1/error_reason_pb.js";
import { MessageRole, SessionStatus } from "@recallr/api/recallr/v1/session_pb.js";
import { configFromEnv, createClients, errorReason } from "../src/client.js";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { importPastSession, PAST_CONVERSATION, PAST_START } from "../src/import.js";
import { addMessage, LIVE_CONTENT, TAIL_LENGTH, walkthrough } from "../src/main.js";

const config = configFromEnv();
const clients = createClients(config);

function newUserId(): string {
  return `ts-test-${randomUUID()}`;
}

/** The error a call rejects with, failing the test when it resolves. */
async function rejection(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  assert.fail("the call succeeded");
}

test("the walkthrough tails a live message and lists memories", async () => {
  const userId = newUserId();

  const result = await walkthrough(clients, userId);

  assert.equal(result.user.userId, userId);
  assert.deepEqual(result.user.metadata, { plan: "free" });
  assert.equal(result.duplicateReason, ErrorReason.USER_ALREADY_EXISTS);
  assert.equal(result.missingUserReason, ErrorReason.USER_NOT_FOUND);
  assert.equal(result.session.userId, userId);
  assert.equal(result.session.status, SessionStatus.PENDING);
  assert.deepEqual(
    result.tailed.map((message) => [message.messageId, message.content]),
    result.added.slice(-TAIL_LENGTH).map((message) => [message.messageId, message.content]),
  );
  assert.equal(result.live.content, LIVE_CONTENT);
  assert.equal(result.live.role, MessageRole.ASSISTANT);
  assert.equal(result.live.sessionId, result.session.sessionId);
  // Nothing is processed yet, so the new user has no memories.
  assert.deepEqual(result.memories, []);
  assert.equal(result.memoriesTotalSize, 0);
});

test("error reasons come from the status details", async () => {
  const userId = newUserId();

  const missing = await rejection(clients.users.getUser({ userId }));
  assert.equal(missing.code, Code.NotFound);
  assert.equal(errorReason(missing), ErrorReason.USER_NOT_FOUND);

  await clients.users.createUser({ user: { userId } });
  const duplicate = await rejection(clients.users.createUser({ user: { userId } }));
  assert.equal(duplicate.code, Code.AlreadyExists);
  assert.equal(errorReason(duplicate), ErrorReason.USER_ALREADY_EXISTS);

  assert.equal(errorReason(new Error("not from the server")), ErrorReason.UNSPECIFIED);
});

test("a validation failure lists its field violations", async () => {
  const userId = newUserId();
  await clients.users.createUser({ user: { userId } });
  const { session } = await clients.sessions.createSession({ userId, session: {} });
  assert.ok(session);

  const refused = await rejection(addMessage(clients, session, MessageRole.UNSPECIFIED, "hello"));

  assert.equal(refused.code, Code.InvalidArgument);
  assert.equal(errorReason(refused), ErrorReason.VALIDATION_FAILED);
  const violations = refused.findDetails(BadRequestSchema).flatMap((detail) => detail.fieldViolations);
  assert.ok(violations[0]?.field.includes("role"), `violations: ${JSON.stringify(violations)}`);
});

test("a wrong API key is rejected", async () => {
  const intruder = createClients({ ...config, apiKey: `not-${config.apiKey}` });

  const refused = await rejection(intruder.users.getUser({ userId: newUserId() }));

  assert.equal(refused.code, Code.Unauthenticated);
  assert.equal(errorReason(refused), ErrorReason.INVALID_API_KEY);
});

test("an imported session keeps every time and a repeated request id adds nothing", async () => {
  const userId = newUserId();
  await clients.users.createUser({ user: { userId } });

  const first = await importPastSession(clients, userId, "import-once");
  const again = await importPastSession(clients, userId, "import-once");

  assert.equal(again.session?.sessionId, first.session?.sessionId);
  assert.ok(first.session?.createTime);
  assert.equal(timestampDate(first.session.createTime).getTime(), PAST_START.getTime());
  const { messages } = await clients.sessions.listMessages({
    userId,
    sessionId: first.session.sessionId,
  });
  assert.deepEqual(
    messages.map((message) => [message.messageId, message.content, message.role]),
    PAST_CONVERSATION.map((turn, index) => [first.messageIds[index], turn.content, turn.role]),
  );
  assert.deepEqual(
    messages.map((message) => (message.createTime ? timestampDate(message.createTime).getTime() : 0)),
    PAST_CONVERSATION.map((turn) => PAST_START.getTime() + turn.minutes * 60_000),
  );
});
