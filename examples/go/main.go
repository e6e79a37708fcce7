// Command example walks through the Recallr API from Go: it creates a user,
// opens a session, adds messages, tails the user's messages live, lists the
// user's memories, reads error reasons from status details and imports a past
// conversation in one call.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	recallrv1 "github.com/recallr/recallr/gen/go/recallr/v1"
	"google.golang.org/protobuf/types/known/structpb"
)

// conversation is what the example says; the tail asks for the last
// tailLength turns of it.
var conversation = []struct {
	role    recallrv1.MessageRole
	content string
}{
	{recallrv1.MessageRole_MESSAGE_ROLE_USER, "I moved to Lisbon last spring."},
	{recallrv1.MessageRole_MESSAGE_ROLE_ASSISTANT, "How are you finding Lisbon?"},
	{recallrv1.MessageRole_MESSAGE_ROLE_USER, "I love it, especially the pastel de nata."},
}

const (
	tailLength  = 2
	liveContent = "Do you have a favourite bakery there?"
)

// walkthroughResult is what each step of the walkthrough got back.
type walkthroughResult struct {
	user               *recallrv1.User
	duplicateReason    recallrv1.ErrorReason
	missingUserReason  recallrv1.ErrorReason
	session            *recallrv1.Session
	added              []*recallrv1.Message
	tailed             []*recallrv1.Message
	live               *recallrv1.Message
	memories           []*recallrv1.Memory
	memoriesTotalCount int32
	imported           *recallrv1.ImportSessionResponse
}

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, out io.Writer) error {
	cfg, err := configFromEnv()
	if err != nil {
		return err
	}
	c, err := dial(cfg)
	if err != nil {
		return err
	}
	defer c.Close()

	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := walkthrough(ctx, c, "example-"+rand.Text())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "created user %s\n", res.user.GetUserId())
	fmt.Fprintf(out, "creating it again failed with %s\n", res.duplicateReason)
	fmt.Fprintf(out, "getting an unknown user failed with %s\n", res.missingUserReason)
	fmt.Fprintf(out, "opened session %s (%s)\n", res.session.GetSessionId(), res.session.GetStatus())
	fmt.Fprintf(out, "tail started with the last %d messages:\n", len(res.tailed))
	for _, m := range res.tailed {
		fmt.Fprintf(out, "  %s: %s\n", m.GetRole(), m.GetContent())
	}
	fmt.Fprintf(out, "tail delivered the new message %q\n", res.live.GetContent())
	fmt.Fprintf(out, "the user has %d memories so far; processing the session makes them\n", res.memoriesTotalCount)
	fmt.Fprintf(out, "imported a past session of %d messages, begun %s\n",
		len(res.imported.GetMessageIds()), res.imported.GetSession().GetCreateTime().AsTime().Format(time.RFC3339))
	return nil
}

func walkthrough(ctx context.Context, c *clients, userID string) (*walkthroughResult, error) {
	res := &walkthroughResult{}
	metadata, err := structpb.NewStruct(map[string]any{"plan": "free"})
	if err != nil {
		return nil, err
	}
	created, err := c.users.CreateUser(ctx, &recallrv1.CreateUserRequest{
		User: &recallrv1.User{UserId: userID, Metadata: metadata},
	})
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	res.user = created.GetUser()

	// Errors are told apart by the ErrorInfo reason, never by message text.
	_, err = c.users.CreateUser(ctx, &recallrv1.CreateUserRequest{User: &recallrv1.User{UserId: userID}})
	res.duplicateReason = errorReason(err)
	_, err = c.users.GetUser(ctx, &recallrv1.GetUserRequest{UserId: userID + "-missing"})
	switch reason := errorReason(err); reason {
	case recallrv1.ErrorReason_ERROR_REASON_USER_NOT_FOUND:
		res.missingUserReason = reason
	default:
		return nil, fmt.Errorf("get unknown user: want USER_NOT_FOUND, got %v", err)
	}

	opened, err := c.sessions.CreateSession(ctx, &recallrv1.CreateSessionRequest{
		UserId:  userID,
		Session: &recallrv1.Session{},
	})
	if err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	res.session = opened.GetSession()

	for _, turn := range conversation {
		added, err := addMessage(ctx, c, res.session, turn.role, turn.content)
		if err != nil {
			return nil, err
		}
		res.added = append(res.added, added)
	}

	res.tailed, res.live, err = tailWithLiveMessage(ctx, c, res.session, tailLength)
	if err != nil {
		return nil, err
	}

	listed, err := c.memories.ListMemories(ctx, &recallrv1.ListMemoriesRequest{UserId: userID, PageSize: 20})
	if err != nil {
		return nil, fmt.Errorf("list memories: %w", err)
	}
	res.memories = listed.GetMemories()
	res.memoriesTotalCount = listed.GetTotalSize()

	res.imported, err = importPastSession(ctx, c, userID, "import-"+userID)
	if err != nil {
		return nil, err
	}
	return res, nil
}

func addMessage(ctx context.Context, c *clients, session *recallrv1.Session, role recallrv1.MessageRole, content string) (*recallrv1.Message, error) {
	added, err := c.sessions.AddMessage(ctx, &recallrv1.AddMessageRequest{
		UserId:    session.GetUserId(),
		SessionId: session.GetSessionId(),
		Message:   &recallrv1.Message{Role: role, Content: content},
	})
	if err != nil {
		return nil, fmt.Errorf("add message: %w", err)
	}
	return added.GetMessage(), nil
}

// tailWithLiveMessage follows the session user's messages: it reads the first
// batch (the last n messages), adds a message to the session, and reads the
// stream until that message arrives. Cancelling the context ends the stream,
// which otherwise stays open until the deadline.
func tailWithLiveMessage(ctx context.Context, c *clients, session *recallrv1.Session, n int32) (initial []*recallrv1.Message, live *recallrv1.Message, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.sessions.TailMessages(ctx, &recallrv1.TailMessagesRequest{
		UserId: session.GetUserId(),
		N:      n,
		Follow: true,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("tail messages: %w", err)
	}
	first, err := stream.Recv()
	if err != nil {
		return nil, nil, fmt.Errorf("tail messages: %w", err)
	}
	added, err := addMessage(ctx, c, session, recallrv1.MessageRole_MESSAGE_ROLE_ASSISTANT, liveContent)
	if err != nil {
		return nil, nil, err
	}
	for {
		batch, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil, nil, errors.New("tail messages: the stream ended before the new message arrived")
		}
		if err != nil {
			return nil, nil, fmt.Errorf("tail messages: %w", err)
		}
		for _, m := range batch.GetMessages() {
			if m.GetMessageId() == added.GetMessageId() {
				return first.GetMessages(), m, nil
			}
		}
	}
}
