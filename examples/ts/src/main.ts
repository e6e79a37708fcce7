// Walks through the Recallr API from TypeScript: creates a user, opens a
// session, adds messages, tails the user's messages live, lists the user's
// memories, reads error reasons from status details and imports a past
// conversation in one call.
import { randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";
import { create } from "@bufbuild/protobuf";
import { ErrorReason } from "@recallr/api/recallr/v1/error_reason_pb.js";
import type { Memory } from "@recallr/api/recallr/v1/memory_pb.js";
import {
  type Message,
  MessageRole,
  type Session,
  SessionSchema,
} from "@recallr/api/recallr/v1/session_pb.js";
import { type User, UserSchema } from "@recallr/api/recallr/v1/user_pb.js";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { configFromEnv, createClients, errorReason, type RecallrClients } from "./client.js";
import { importPastSession } from "./import.js";

/** What the example says; the tail asks for the last TAIL_LENGTH turns. */
export const CONVERSATION: ReadonlyArray<{ role: MessageRole; content: string }> = [
  { role: MessageRole.USER, content: "I moved to Lisbon last spring." },
  { role: MessageRole.ASSISTANT, content: "How are you finding Lisbon?" },
  { role: MessageRole.USER, content: "I love it, especially the pastel de nata." },
];
export const TAIL_LENGTH = 2;
export const LIVE_CONTENT = "Do you have a favourite bakery there?";

/** Every call's deadline; a live tail also ends when it passes. */
const TIMEOUT_MS = 20_000;

export interface WalkthroughResult {
  user: User;
  duplicateReason: ErrorReason;
  missingUserReason: ErrorReason;
  session: Session;
  added: Message[];
  tailed: Message[];
  live: Message;
  memories: Memory[];
  memoriesTotalSize: number;
}

export async function walkthrough(clients: RecallrClients, userId: string): Promise<WalkthroughResult> {
  const { user } = await clients.users.createUser(
    { user: create(UserSchema, { userId, metadata: { plan: "free" } }) },
    { timeoutMs: TIMEOUT_MS },
  );
  if (user === undefined) throw new Error("CreateUser returned no user");

  // Errors are told apart by the ErrorInfo reason, never by message text.
  const duplicateReason = await clients.users
    .createUser({ user: { userId } }, { timeoutMs: TIMEOUT_MS })
    .then(() => ErrorReason.UNSPECIFIED, errorReason);
  let missingUserReason: ErrorReason;
  try {
    await clients.users.getUser({ userId: `${userId}-missing` }, { timeoutMs: TIMEOUT_MS });
    throw new Error("GetUser of an unknown user succeeded");
  } catch (error) {
    missingUserReason = errorReason(error);
    if (missingUserReason !== ErrorReason.USER_NOT_FOUND) throw error;
  }

  const { session } = await clients.sessions.createSession(
    { userId, session: create(SessionSchema) },
    { timeoutMs: TIMEOUT_MS },
  );
  if (session === undefined) throw new Error("CreateSession returned no session");

  const added: Message[] = [];
  for (const turn of CONVERSATION) {
    added.push(await addMessage(clients, session, turn.role, turn.content));
  }

  const { initial: tailed, live } = await tailWithLiveMessage(clients, session, TAIL_LENGTH);

  const { memories, totalSize } = await clients.memories.listMemories(
    { userId, pageSize: 20 },
    { timeoutMs: TIMEOUT_MS },
  );
  return {
    user,
    duplicateReason,
    missingUserReason,
    session,
    added,
    tailed,
    live,
    memories,
    memoriesTotalSize: totalSize,
  };
}

export async function addMessage(
  clients: RecallrClients,
  session: Session,
  role: MessageRole,
  content: string,
): Promise<Message> {
  const { message } = await clients.sessions.addMessage(
    { userId: session.userId, sessionId: session.sessionId, message: { role, content } },
    { timeoutMs: TIMEOUT_MS },
  );
  if (message === undefined) throw new Error("AddMessage returned no message");
  return message;
}

/**
 * Follows the session user's messages: reads the first batch (the last n
 * messages), adds a message to the session, and reads the stream until that
 * message arrives. A follow tail stays open until the client cancels it.
 */
export async function tailWithLiveMessage(
  clients: RecallrClients,
  session: Session,
  n: number,
): Promise<{ initial: Message[]; live: Message }> {
  const cancel = new AbortController();
  const batches = clients.sessions
    .tailMessages({ userId: session.userId, n, follow: true }, { signal: cancel.signal, timeoutMs: TIMEOUT_MS })
    [Symbol.asyncIterator]();
  try {
    const first = await batches.next();
    if (first.done) throw new Error("TailMessages ended before its first batch");
    const added = await addMessage(clients, session, MessageRole.ASSISTANT, LIVE_CONTENT);
    for (;;) {
      const batch = await batches.next();
      if (batch.done) throw new Error("TailMessages ended before the new message arrived");
      const live = batch.value.messages.find((message) => message.messageId === added.messageId);
      if (live !== undefined) return { initial: first.value.messages, live };
    }
  } finally {
    cancel.abort();
    // Connect clears a stream's deadline timer only when the stream is read to
    // its end or its error, so read the cancellation once; otherwise the timer
    // keeps the process alive until the deadline.
    await batches.next().catch(() => undefined);
  }
}

export async function main(): Promise<void> {
  const clients = createClients(configFromEnv());
  const result = await walkthrough(clients, `example-${randomUUID()}`);
  console.log(`created user ${result.user.userId}`);
  console.log(`creating it again failed with ${ErrorReason[result.duplicateReason]}`);
  console.log(`getting an unknown user failed with ${ErrorReason[result.missingUserReason]}`);
  console.log(`opened session ${result.session.sessionId}`);
  console.log(`tail started with the last ${result.tailed.length} messages:`);
  for (const message of result.tailed) {
    console.log(`  ${MessageRole[message.role]}: ${message.content}`);
  }
  console.log(`tail delivered the new message "${result.live.content}"`);
  console.log(`the user has ${result.memoriesTotalSize} memories so far; processing the session makes them`);
  const imported = await importPastSession(clients, result.user.userId, `import-${result.user.userId}`);
  const began = imported.session?.createTime ? timestampDate(imported.session.createTime).toISOString() : "?";
  console.log(`imported a past session of ${imported.messageIds.length} messages, begun ${began}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
