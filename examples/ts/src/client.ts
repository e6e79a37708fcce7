import { ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ErrorInfoSchema } from "@recallr/api/google/rpc/error_details_pb.js";
import { ErrorReason } from "@recallr/api/recallr/v1/error_reason_pb.js";
import { MemoryService } from "@recallr/api/recallr/v1/memory_service_pb.js";
import { SessionService } from "@recallr/api/recallr/v1/session_service_pb.js";
import { UserService } from "@recallr/api/recallr/v1/user_service_pb.js";

/** The ErrorInfo domain of every error the Recallr API reports. */
export const ERROR_DOMAIN = "recallr.v1";

/** Where the server is and which project the calls act on. */
export interface RecallrConfig {
  target: string;
  apiKey: string;
  projectId: string;
}

/**
 * Reads RECALLR_TARGET (default localhost:50051), RECALLR_API_KEY and
 * RECALLR_PROJECT_ID.
 */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): RecallrConfig {
  const apiKey = env.RECALLR_API_KEY;
  const projectId = env.RECALLR_PROJECT_ID;
  if (!apiKey || !projectId) {
    throw new Error("set RECALLR_API_KEY and RECALLR_PROJECT_ID");
  }
  return { target: env.RECALLR_TARGET || "localhost:50051", apiKey, projectId };
}

export interface RecallrClients {
  users: Client<typeof UserService>;
  sessions: Client<typeof SessionService>;
  memories: Client<typeof MemoryService>;
}

/** Clients that share one HTTP/2 connection and authenticate every call. */
export function createClients(config: RecallrConfig): RecallrClients {
  const authenticate: Interceptor = (next) => (request) => {
    request.header.set("authorization", `Bearer ${config.apiKey}`);
    request.header.set("x-recallr-project-id", config.projectId);
    return next(request);
  };
  // A self-hosted server listens in plaintext by default; use https:// behind TLS.
  const transport = createGrpcTransport({
    baseUrl: `http://${config.target}`,
    interceptors: [authenticate],
  });
  return {
    users: createClient(UserService, transport),
    sessions: createClient(SessionService, transport),
    memories: createClient(MemoryService, transport),
  };
}

/**
 * The reason of the Recallr ErrorInfo in the error's status details, or
 * ErrorReason.UNSPECIFIED when there is none (a failure that never reached the
 * server, or a reason newer than these generated stubs). The wire carries the
 * enum value's name without its ERROR_REASON_ prefix, which is the name
 * protobuf-es gives the TypeScript enum member.
 */
export function errorReason(error: unknown): ErrorReason {
  const info = ConnectError.from(error)
    .findDetails(ErrorInfoSchema)
    .find((detail) => detail.domain === ERROR_DOMAIN);
  const reason = info === undefined ? undefined : ErrorReason[info.reason as keyof typeof ErrorReason];
  return typeof reason === "number" ? reason : ErrorReason.UNSPECIFIED;
}
