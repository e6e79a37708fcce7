package main

import (
	"context"
	"fmt"
	"time"

	recallrv1 "github.com/recallr/recallr/gen/go/recallr/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// pastConversation is a conversation that happened before the application
// used Recallr: ImportSession loads it in one call, with its own times.
var pastConversation = []struct {
	role    recallrv1.MessageRole
	content string
	after   time.Duration
}{
	{recallrv1.MessageRole_MESSAGE_ROLE_USER, "I adopted a cat called Miso.", 0},
	{recallrv1.MessageRole_MESSAGE_ROLE_ASSISTANT, "Congratulations! How old is Miso?", time.Minute},
	{recallrv1.MessageRole_MESSAGE_ROLE_USER, "Two years old, and very shy.", 2 * time.Minute},
}

// pastStart is when the past conversation began.
var pastStart = time.Date(2023, time.May, 8, 13, 56, 0, 0, time.UTC)

// importPastSession adds the past conversation as one session, all of it or
// nothing. The request id makes a retry (or a rerun) return the session the
// first call created instead of adding it twice.
func importPastSession(ctx context.Context, c *clients, userID, requestID string) (*recallrv1.ImportSessionResponse, error) {
	messages := make([]*recallrv1.Message, 0, len(pastConversation))
	for _, turn := range pastConversation {
		messages = append(messages, &recallrv1.Message{
			Role:       turn.role,
			Content:    turn.content,
			CreateTime: timestamppb.New(pastStart.Add(turn.after)),
		})
	}
	imported, err := c.sessions.ImportSession(ctx, &recallrv1.ImportSessionRequest{
		UserId:    userID,
		Session:   &recallrv1.Session{CreateTime: timestamppb.New(pastStart)},
		Messages:  messages,
		RequestId: requestID,
	})
	if err != nil {
		return nil, fmt.Errorf("import session: %w", err)
	}
	return imported, nil
}
