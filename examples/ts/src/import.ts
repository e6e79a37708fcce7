// Loads a conversation that happened before the application used Recallr in one
// call: ImportSession stores the session and its messages with their own times,
// all of them or nothing.
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { MessageRole } from "@recallr/api/recallr/v1/session_pb.js";
import type { ImportSessionResponse } from "@recallr/api/recallr/v1/session_service_pb.js";
import type { RecallrClients } from "./client.js";

/** When the past conversation began. */
export const PAST_START = new Date(Date.UTC(2023, 4, 8, 13, 56));

/** The past conversation, each turn with its minutes after PAST_START. */
export const PAST_CONVERSATION: ReadonlyArray<{ role: MessageRole; content: string; minutes: number }> = [
  { role: MessageRole.USER, content: "I adopted a cat called Miso.", minutes: 0 },
  { role: MessageRole.ASSISTANT, content: "Congratulations! How old is Miso?", minutes: 1 },
  { role: MessageRole.USER, content: "Two years old, and very shy.", minutes: 2 },
];

/**
 * Imports the past conversation for a user. The request id makes a retry (or a
 * rerun) return the session the first call created instead of adding it twice.
 */
export async function importPastSession(
  clients: RecallrClients,
  userId: string,
  requestId: string,
): Promise<ImportSessionResponse> {
  return clients.sessions.importSession(
    {
      userId,
      session: { createTime: timestampFromDate(PAST_START) },
      messages: PAST_CONVERSATION.map((turn) => ({
        role: turn.role,
        content: turn.content,
        createTime: timestampFromDate(new Date(PAST_START.getTime() + turn.minutes * 60_000)),
      })),
      requestId,
    },
    { timeoutMs: 20_000 },
  );
}
