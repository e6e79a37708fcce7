package main

import (
	"context"
	"errors"
	"os"

	recallrv1 "github.com/recallr/recallr/gen/go/recallr/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// errorDomain is the ErrorInfo domain of every error the Recallr API reports.
const errorDomain = "recallr.v1"

// config says where the server is and which project the calls act on.
type config struct {
	target    string
	apiKey    string
	projectID string
}

// configFromEnv reads RECALLR_TARGET (default localhost:50051),
// RECALLR_API_KEY and RECALLR_PROJECT_ID.
func configFromEnv() (config, error) {
	cfg := config{
		target:    os.Getenv("RECALLR_TARGET"),
		apiKey:    os.Getenv("RECALLR_API_KEY"),
		projectID: os.Getenv("RECALLR_PROJECT_ID"),
	}
	if cfg.target == "" {
		cfg.target = "localhost:50051"
	}
	if cfg.apiKey == "" || cfg.projectID == "" {
		return cfg, errors.New("set RECALLR_API_KEY and RECALLR_PROJECT_ID")
	}
	return cfg, nil
}

// projectCredentials puts the API key and the project id on every call.
type projectCredentials struct {
	apiKey    string
	projectID string
}

func (c projectCredentials) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{
		"authorization":        "Bearer " + c.apiKey,
		"x-recallr-project-id": c.projectID,
	}, nil
}

// RequireTransportSecurity is false because a self-hosted server listens in
// plaintext by default; behind TLS, dial with credentials.NewTLS instead of
// insecure.NewCredentials and return true here.
func (projectCredentials) RequireTransportSecurity() bool { return false }

// clients holds one connection and the stubs of the services the example uses.
type clients struct {
	conn     *grpc.ClientConn
	users    recallrv1.UserServiceClient
	sessions recallrv1.SessionServiceClient
	memories recallrv1.MemoryServiceClient
}

func dial(cfg config) (*clients, error) {
	conn, err := grpc.NewClient(cfg.target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(projectCredentials{apiKey: cfg.apiKey, projectID: cfg.projectID}),
	)
	if err != nil {
		return nil, err
	}
	return &clients{
		conn:     conn,
		users:    recallrv1.NewUserServiceClient(conn),
		sessions: recallrv1.NewSessionServiceClient(conn),
		memories: recallrv1.NewMemoryServiceClient(conn),
	}, nil
}

func (c *clients) Close() error { return c.conn.Close() }

// errorReason returns the reason of the Recallr ErrorInfo in err's status
// details, or ERROR_REASON_UNSPECIFIED when there is none (a nil error, or a
// failure that never reached the server). The wire carries the enum value's
// name without its ERROR_REASON_ prefix.
func errorReason(err error) recallrv1.ErrorReason {
	for _, detail := range status.Convert(err).Details() {
		if info, ok := detail.(*errdetails.ErrorInfo); ok && info.GetDomain() == errorDomain {
			return recallrv1.ErrorReason(recallrv1.ErrorReason_value["ERROR_REASON_"+info.GetReason()])
		}
	}
	return recallrv1.ErrorReason_ERROR_REASON_UNSPECIFIED
}
