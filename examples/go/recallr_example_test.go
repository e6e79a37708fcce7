package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	recallrv1 "github.com/recallr/recallr/gen/go/recallr/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// These tests run against the live server that RECALLR_TARGET,
// RECALLR_API_KEY and RECALLR_PROJECT_ID name.

func liveConfig(t *testing.T) config {
	t.Helper()
	cfg, err := configFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func dialLive(t *testing.T, cfg config) *clients {
	t.Helper()
	c, err := dial(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newUserID() string { return "go-test-" + rand.Text() }

func TestWalkthroughTailsLiveMessageAndListsMemories(t *testing.T) {
	c := dialLive(t, liveConfig(t))
	userID := newUserID()

	res, err := walkthrough(testContext(t), c, userID)
	if err != nil {
		t.Fatal(err)
	}

	if got := res.user.GetUserId(); got != userID {
		t.Errorf("user id = %q, want %q", got, userID)
	}
	if got := res.user.GetMetadata().GetFields()["plan"].GetStringValue(); got != "free" {
		t.Errorf("user metadata plan = %q, want free", got)
	}
	if res.duplicateReason != recallrv1.ErrorReason_ERROR_REASON_USER_ALREADY_EXISTS {
		t.Errorf("duplicate create reason = %v, want USER_ALREADY_EXISTS", res.duplicateReason)
	}
	if res.missingUserReason != recallrv1.ErrorReason_ERROR_REASON_USER_NOT_FOUND {
		t.Errorf("unknown user reason = %v, want USER_NOT_FOUND", res.missingUserReason)
	}
	if res.session.GetUserId() != userID || res.session.GetStatus() != recallrv1.SessionStatus_SESSION_STATUS_PENDING {
		t.Errorf("session = %v, want a PENDING session of %q", res.session, userID)
	}

	wantTail := res.added[len(res.added)-tailLength:]
	if len(res.tailed) != len(wantTail) {
		t.Fatalf("tail's first batch has %d messages, want %d", len(res.tailed), len(wantTail))
	}
	for i, m := range res.tailed {
		if m.GetMessageId() != wantTail[i].GetMessageId() || m.GetContent() != wantTail[i].GetContent() {
			t.Errorf("tail message %d = %v, want %v", i, m, wantTail[i])
		}
	}
	if res.live.GetContent() != liveContent || res.live.GetSessionId() != res.session.GetSessionId() ||
		res.live.GetRole() != recallrv1.MessageRole_MESSAGE_ROLE_ASSISTANT {
		t.Errorf("live message = %v, want the assistant's %q in session %s", res.live, liveContent, res.session.GetSessionId())
	}

	// Nothing is processed yet, so the new user has no memories.
	if len(res.memories) != 0 || res.memoriesTotalCount != 0 {
		t.Errorf("memories = %v (total %d), want none", res.memories, res.memoriesTotalCount)
	}
}

func TestErrorReasonsComeFromStatusDetails(t *testing.T) {
	c := dialLive(t, liveConfig(t))
	ctx := testContext(t)
	userID := newUserID()

	_, err := c.users.GetUser(ctx, &recallrv1.GetUserRequest{UserId: userID})
	if status.Code(err) != codes.NotFound || errorReason(err) != recallrv1.ErrorReason_ERROR_REASON_USER_NOT_FOUND {
		t.Errorf("GetUser of an unknown user: got %v, want NOT_FOUND with USER_NOT_FOUND", err)
	}

	if _, err := c.users.CreateUser(ctx, &recallrv1.CreateUserRequest{User: &recallrv1.User{UserId: userID}}); err != nil {
		t.Fatal(err)
	}
	_, err = c.users.CreateUser(ctx, &recallrv1.CreateUserRequest{User: &recallrv1.User{UserId: userID}})
	if status.Code(err) != codes.AlreadyExists || errorReason(err) != recallrv1.ErrorReason_ERROR_REASON_USER_ALREADY_EXISTS {
		t.Errorf("CreateUser of an existing user: got %v, want ALREADY_EXISTS with USER_ALREADY_EXISTS", err)
	}

	if got := errorReason(nil); got != recallrv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
		t.Errorf("errorReason(nil) = %v, want UNSPECIFIED", got)
	}
}

func TestValidationFailureListsFieldViolations(t *testing.T) {
	c := dialLive(t, liveConfig(t))
	ctx := testContext(t)
	userID := newUserID()
	if _, err := c.users.CreateUser(ctx, &recallrv1.CreateUserRequest{User: &recallrv1.User{UserId: userID}}); err != nil {
		t.Fatal(err)
	}
	opened, err := c.sessions.CreateSession(ctx, &recallrv1.CreateSessionRequest{UserId: userID, Session: &recallrv1.Session{}})
	if err != nil {
		t.Fatal(err)
	}

	// A message without a role is refused.
	_, err = addMessage(ctx, c, opened.GetSession(), recallrv1.MessageRole_MESSAGE_ROLE_UNSPECIFIED, "hello")
	if status.Code(err) != codes.InvalidArgument || errorReason(err) != recallrv1.ErrorReason_ERROR_REASON_VALIDATION_FAILED {
		t.Fatalf("AddMessage without a role: got %v, want INVALID_ARGUMENT with VALIDATION_FAILED", err)
	}
	var violations []*errdetails.BadRequest_FieldViolation
	for _, detail := range status.Convert(err).Details() {
		if badRequest, ok := detail.(*errdetails.BadRequest); ok {
			violations = append(violations, badRequest.GetFieldViolations()...)
		}
	}
	if len(violations) == 0 || !strings.Contains(violations[0].GetField(), "role") {
		t.Errorf("field violations = %v, want one naming the role", violations)
	}
}

func TestWrongAPIKeyIsRejected(t *testing.T) {
	cfg := liveConfig(t)
	cfg.apiKey = "not-" + cfg.apiKey
	c := dialLive(t, cfg)

	_, err := c.users.GetUser(testContext(t), &recallrv1.GetUserRequest{UserId: newUserID()})
	if status.Code(err) != codes.Unauthenticated || errorReason(err) != recallrv1.ErrorReason_ERROR_REASON_INVALID_API_KEY {
		t.Errorf("call with a wrong API key: got %v, want UNAUTHENTICATED with INVALID_API_KEY", err)
	}
}

func TestRunPrintsTheWalkthrough(t *testing.T) {
	liveConfig(t)
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"USER_ALREADY_EXISTS", "USER_NOT_FOUND", "tail delivered the new message", "imported a past session of 3 messages, begun 2023-05-08T13:56:00Z"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestImportSessionKeepsEveryTimeAndIsIdempotent(t *testing.T) {
	c := dialLive(t, liveConfig(t))
	ctx := testContext(t)
	userID := newUserID()
	if _, err := c.users.CreateUser(ctx, &recallrv1.CreateUserRequest{User: &recallrv1.User{UserId: userID}}); err != nil {
		t.Fatal(err)
	}

	first, err := importPastSession(ctx, c, userID, "import-once")
	if err != nil {
		t.Fatal(err)
	}
	again, err := importPastSession(ctx, c, userID, "import-once")
	if err != nil {
		t.Fatal(err)
	}
	if again.GetSession().GetSessionId() != first.GetSession().GetSessionId() {
		t.Errorf("a repeated request id made a second session")
	}
	if got := first.GetSession().GetCreateTime().AsTime(); !got.Equal(pastStart) {
		t.Errorf("session create time = %v, want %v", got, pastStart)
	}
	listed, err := c.sessions.ListMessages(ctx, &recallrv1.ListMessagesRequest{
		UserId: userID, SessionId: first.GetSession().GetSessionId(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed.GetMessages()) != len(pastConversation) {
		t.Fatalf("got %d messages, want %d", len(listed.GetMessages()), len(pastConversation))
	}
	for i, m := range listed.GetMessages() {
		want := pastConversation[i]
		if m.GetMessageId() != first.GetMessageIds()[i] || m.GetContent() != want.content {
			t.Errorf("message %d = %q (%s), want %q (%s)", i, m.GetContent(), m.GetMessageId(), want.content, first.GetMessageIds()[i])
		}
		if got := m.GetCreateTime().AsTime(); !got.Equal(pastStart.Add(want.after)) {
			t.Errorf("message %d time = %v, want %v", i, got, pastStart.Add(want.after))
		}
	}
}
